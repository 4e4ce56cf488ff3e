using System.Globalization;
using System.Management.Automation;
using System.Reflection;

namespace UsbRedir.PowerShell.Devices;

/// <summary>
/// What -VendorId and -ProductId accept: USB ids in hex, as lsusb, sysfs and Get-UsbDevice's VidPid show them. PowerShell
/// reads <c>-VendorId 0781</c> as the decimal number 781, <c>5567</c> as decimal 5567, and cannot make a number of
/// <c>46f4</c> at all; here all of them mean the hex id (0x0781, 0x5567, 0x46f4), as does <c>0x0781</c>. An id that is
/// already a UInt16 (the VendorId of a device object) is taken as it is. A typed 5567 and a computed int cannot be told
/// apart, so any other integer is read by its digits: a script passes a computed id as [uint16] or as hex text.
/// </summary>
internal static class UsbIdInput
{
    // The text of a number typed as a command argument ("0781"), which PowerShell keeps beside the number and passes to
    // [string] parameters as typed. Internal to the engine: when a future PowerShell drops it, such numbers are taken as they are.
    private static readonly PropertyInfo? TokenText =
        typeof(PSObject).GetProperty("TokenText", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <exception cref="UsbRedirException">UsbIdInvalid, naming the value and the form to give.</exception>
    public static ushort[] ToIds(object? input)
    {
        var items = input is PSObject { BaseObject: object[] } or object[]
            ? ((IEnumerable<object?>)(input is PSObject p ? p.BaseObject : input)!).ToArray()
            : [input];
        return [.. items.Select(ToId)];
    }

    private static ushort ToId(object? item)
    {
        // A number typed with a leading zero or 0x comes wrapped with its text ("0781"); one typed plainly comes bare.
        if (item is PSObject wrapped && TokenText?.GetValue(wrapped) is string { Length: > 0 } typed)
            return Parse(typed);
        var value = item is PSObject p ? p.BaseObject : item;
        return value switch
        {
            ushort id => id,
            string text => Parse(text),
            sbyte or byte or short or int or long or uint or ulong => Parse(((IFormattable)value).ToString(null, CultureInfo.InvariantCulture)),
            _ => throw Invalid(value),
        };
    }

    /// <summary>"0781", "46f4", "0x0781": up to four hex digits, with or without 0x.</summary>
    private static ushort Parse(string text)
    {
        var digits = text.Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            digits = digits[2..];
        return digits.Length is > 0 and <= 4 && ushort.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw Invalid(text);
    }

    private static UsbRedirException Invalid(object? value) =>
        new("UsbIdInvalid", UsbRedirErrorCategory.InvalidArgument, $"'{value}' is not a USB vendor or product id.",
            "Give it in hex as lsusb and Get-UsbDevice's VidPid show it, e.g. 0781 or 0x0781 (up to four hex digits).", value);
}

/// <summary>Lets a ushort[] id parameter take hex ids as typed (see <see cref="UsbIdInput"/>).</summary>
internal sealed class UsbIdTransformationAttribute : EngineTransformationAttribute
{
    protected override object Convert(object? input) => UsbIdInput.ToIds(input);
}
