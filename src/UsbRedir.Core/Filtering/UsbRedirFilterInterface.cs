using System.Globalization;

namespace UsbRedir.Filtering;

/// <summary>The class triple of one interface (altsetting 0 of the active configuration, as usbredirhost uses).</summary>
public sealed record UsbRedirFilterInterface(byte Class, byte SubClass, byte Protocol)
{
    /// <summary>True for class 3 / subclass 0 / protocol 0: a HID interface without boot protocol (e.g. a headset's volume keys).</summary>
    public bool IsNonBootHid => Class == 3 && SubClass == 0 && Protocol == 0;

    /// <summary>"cc/ss/pp" in hex, e.g. "03/00/00"; <see cref="Parse"/> reads it back.</summary>
    public override string ToString() => $"{Class:x2}/{SubClass:x2}/{Protocol:x2}";

    /// <summary>
    /// Reads "class/subclass/protocol" (also ':' or '.' as separator). Each number is hex as lsusb prints it
    /// ("03", "e0"), with an optional 0x prefix.
    /// </summary>
    /// <exception cref="UsbRedirException">FilterDeviceInvalid when the text is not three bytes.</exception>
    public static UsbRedirFilterInterface Parse(string text)
    {
        var parts = text.Split('/', ':', '.');
        if (parts.Length != 3)
            throw DeviceText.Invalid(text, "an interface needs class/subclass/protocol, e.g. 03/01/02");
        return new(DeviceText.Byte(parts[0], text, "class"), DeviceText.Byte(parts[1], text, "subclass"),
            DeviceText.Byte(parts[2], text, "protocol"));
    }
}

/// <summary>Shared number reading for the device and interface text forms.</summary>
internal static class DeviceText
{
    public static byte Byte(string field, string whole, string name) => (byte)Hex(field, whole, name, 0xff);

    public static ushort Word(string field, string whole, string name) => (ushort)Hex(field, whole, name, 0xffff);

    private static int Hex(string field, string whole, string name, int max)
    {
        var digits = field.Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            digits = digits[2..];
        if (digits.Length == 0 || digits.Length > 8
            || !int.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            || value < 0 || value > max)
            throw Invalid(whole, $"{name} '{field}' is not a hex number from 0 to 0x{max:x}");
        return value;
    }

    public static UsbRedirException Invalid(string text, string why) =>
        new(UsbRedirFilterErrorIds.FilterDeviceInvalid, UsbRedirErrorCategory.InvalidArgument,
            $"Cannot read the device description '{text}': {why}.",
            "Describe a device as class:vendor:product:version in hex as lsusb -v prints them (e.g. 08:0781:5567:0100), "
            + "and each interface as class/subclass/protocol (e.g. 08/06/50).", text);
}
