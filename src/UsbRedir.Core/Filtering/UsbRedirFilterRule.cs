using System.Globalization;

namespace UsbRedir.Filtering;

/// <summary>
/// One usbredir filter rule, the C <c>struct usbredirfilter_rule</c>: a device matches when every field is
/// <see cref="Any"/> (-1) or equal to the device's value; the first matching rule allows or blocks it.
/// </summary>
/// <remarks>
/// The constructor accepts any values, as the C struct does, so rules read from elsewhere can be represented
/// and reported; <see cref="IsValid"/> and <see cref="UsbRedirFilter.Verify"/> apply usbredirfilter_verify's ranges
/// (class -1..255, ids and version -1..65535), and formatting or checking with an invalid rule fails like C.
/// </remarks>
/// <param name="Class">USB class code (device or interface class), or -1 for any.</param>
/// <param name="VendorId">idVendor, or -1 for any.</param>
/// <param name="ProductId">idProduct, or -1 for any.</param>
/// <param name="Version">bcdDevice as the raw 16-bit value (0x0256 is version 2.56), or -1 for any.</param>
/// <param name="Allow">True to allow redirection of a matching device, false to block it.</param>
public sealed record UsbRedirFilterRule(int Class, int VendorId, int ProductId, int Version, bool Allow)
{
    /// <summary>The field value meaning "matches anything".</summary>
    public const int Any = -1;

    /// <summary>True when every field is in usbredirfilter_verify's range.</summary>
    public bool IsValid => FirstInvalidField() < 0;

    /// <summary>The version as text, e.g. "2.56" for 0x0256, or "any" (the notation of libvirt's XML and usbredirfilter_print).</summary>
    public string VersionText => Version == Any ? "any" : FormatBcdVersion(Version);

    /// <summary>"Allow" or "Block", the words usbredirfilter_print uses.</summary>
    public string Action => Allow ? "Allow" : "Block";

    /// <summary>The rule in the wire form, e.g. "0x08,0x1234,-1,-1,1" (fields out of range are written in decimal).</summary>
    public override string ToString() => UsbRedirFilter.FormatRuleUnchecked(this, ',');

    /// <summary>
    /// Parses exactly one rule in the wire form ("0x08,-1,-1,-1,1"); also lets PowerShell convert a string to a rule.
    /// </summary>
    /// <exception cref="UsbRedirException">The text is not exactly one valid rule.</exception>
    public static UsbRedirFilterRule Parse(string text)
    {
        var rules = UsbRedirFilter.Parse(text);
        if (rules.Count != 1)
            throw new UsbRedirException(UsbRedirFilterErrorIds.FilterRuleCount, UsbRedirErrorCategory.InvalidArgument,
                $"Expected exactly one filter rule but '{text}' holds {rules.Count}.",
                "Give one rule of five fields: class,vendor,product,version,allow, e.g. 0x08,-1,-1,-1,1.", text);
        return rules[0];
    }

    /// <summary>Formats a BCD version the way usbredirfilter_print and libvirt do: 0x0256 → "2.56", 0x0110 → "1.10".</summary>
    public static string FormatBcdVersion(int bcd)
    {
        var major = ((bcd >> 12) & 0xf) * 10 + ((bcd >> 8) & 0xf);
        var minor = ((bcd >> 4) & 0xf) * 10 + (bcd & 0xf);
        return string.Create(CultureInfo.InvariantCulture, $"{major}.{minor:D2}");
    }

    /// <summary>Index of the first field out of range (0 class, 1 vendor, 2 product, 3 version), or -1.</summary>
    internal int FirstInvalidField() =>
        Class is < -1 or > 255 ? 0
        : VendorId is < -1 or > 65535 ? 1
        : ProductId is < -1 or > 65535 ? 2
        : Version is < -1 or > 65535 ? 3
        : -1;
}
