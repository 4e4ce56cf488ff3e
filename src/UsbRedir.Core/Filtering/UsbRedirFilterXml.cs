using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace UsbRedir.Filtering;

/// <summary>
/// libvirt's <c>&lt;redirfilter&gt;</c> element, e.g.
/// <c>&lt;redirfilter&gt;&lt;usbdev class='0x08' vendor='0x1234' product='0xbeef' version='2.56' allow='yes'/&gt;&lt;usbdev allow='no'/&gt;&lt;/redirfilter&gt;</c>.
/// Parsing follows virDomainRedirFilterUSBDevDefParseXML: class, vendor and product are C integers (0x hex,
/// leading-0 octal, decimal), a missing attribute or -1 means any, version is "JJ.MN" (2.56 → bcdDevice 0x0256,
/// 2.5 → 0x0250), allow is required and exactly "yes" or "no". Where libvirt accepts a vendor or product that
/// usbredir then refuses (outside -1..65535), this reports it at once instead of when QEMU starts.
/// </summary>
public static class UsbRedirFilterXml
{
    /// <summary>
    /// Reads the rules of a &lt;redirfilter&gt; element. The document may be the element itself, a &lt;devices&gt;
    /// element or a whole &lt;domain&gt;; there must be exactly one &lt;redirfilter&gt; (libvirt allows one).
    /// </summary>
    /// <exception cref="UsbRedirException">FilterXmlInvalid or FilterValueOutOfRange.</exception>
    public static IReadOnlyList<UsbRedirFilterRule> Parse(string xml)
    {
        if (!TryParse(xml, out var rules, out var error))
            throw error!.ToException();
        return rules;
    }

    /// <summary>Parses without throwing; on failure <paramref name="rules"/> is empty.</summary>
    public static bool TryParse(string xml, out IReadOnlyList<UsbRedirFilterRule> rules, out UsbRedirFilterError? error)
    {
        ArgumentNullException.ThrowIfNull(xml);
        rules = Array.Empty<UsbRedirFilterRule>();
        XDocument document;
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using var reader = XmlReader.Create(new StringReader(xml), settings);
            document = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            error = Invalid($"The redirfilter XML is not well-formed: {e.Message}", -1, null);
            return false;
        }
        var root = document.Root!;
        var filters = root.Name.LocalName == "redirfilter"
            ? [root]
            : root.Descendants().Where(e => e.Name.LocalName == "redirfilter").ToList();
        if (filters.Count != 1)
        {
            error = Invalid(filters.Count == 0
                ? $"No <redirfilter> element found (the document's root is <{root.Name.LocalName}>)."
                : "Only one set of redirfilter is supported, but the document holds " + filters.Count + ".", -1, null);
            return false;
        }
        var list = new List<UsbRedirFilterRule>();
        var index = 0;
        foreach (var usbdev in filters[0].Elements().Where(e => e.Name.LocalName == "usbdev"))
        {
            error = ParseUsbDev(usbdev, index, out var rule);
            if (error is not null)
                return false;
            list.Add(rule!);
            index++;
        }
        rules = list.AsReadOnly();
        error = null;
        return true;
    }

    /// <summary>
    /// Writes rules as a &lt;redirfilter&gt; element the way libvirt formats it: only fields that are not "any",
    /// class as 0x%02X, vendor and product as 0x%04X, version as "J.MN" (which libvirt reads back to the same BCD).
    /// </summary>
    /// <exception cref="UsbRedirException">
    /// FilterValueOutOfRange for a rule out of range, or a version with a BCD digit above 9 that the "J.MN" notation cannot express.
    /// </exception>
    public static string Format(IEnumerable<UsbRedirFilterRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var list = rules.ToList();
        if (UsbRedirFilter.Verify(list) is { } invalid)
            throw invalid.ToException();
        var sb = new StringBuilder("<redirfilter>\n");
        for (var i = 0; i < list.Count; i++)
        {
            var rule = list[i];
            sb.Append("  <usbdev");
            if (rule.Class != UsbRedirFilterRule.Any)
                sb.Append(CultureInfo.InvariantCulture, $" class='0x{rule.Class:X2}'");
            if (rule.VendorId != UsbRedirFilterRule.Any)
                sb.Append(CultureInfo.InvariantCulture, $" vendor='0x{rule.VendorId:X4}'");
            if (rule.ProductId != UsbRedirFilterRule.Any)
                sb.Append(CultureInfo.InvariantCulture, $" product='0x{rule.ProductId:X4}'");
            if (rule.Version != UsbRedirFilterRule.Any)
            {
                if (!IsDecimalBcd(rule.Version))
                    throw new UsbRedirFilterError(UsbRedirFilterErrorIds.FilterValueOutOfRange,
                        $"Filter rule {i} ({rule}): version 0x{rule.Version:x4} has a BCD digit above 9, which libvirt's "
                        + "\"JJ.MN\" version notation cannot express.",
                        "Use -1 (any) for this rule's version, or keep the filter in the usbredir string form.",
                        i, 3, rule.Version.ToString(CultureInfo.InvariantCulture)).ToException();
                sb.Append(" version='").Append(UsbRedirFilterRule.FormatBcdVersion(rule.Version)).Append('\'');
            }
            sb.Append(" allow='").Append(rule.Allow ? "yes" : "no").Append("'/>\n");
        }
        return sb.Append("</redirfilter>").ToString();
    }

    private static UsbRedirFilterError? ParseUsbDev(XElement usbdev, int index, out UsbRedirFilterRule? rule)
    {
        rule = null;
        var values = new int[4];
        string[] names = ["class", "vendor", "product", "version"];
        for (var f = 0; f < 4; f++)
        {
            var text = (string?)usbdev.Attribute(names[f]);
            if (text is null)
            {
                values[f] = UsbRedirFilterRule.Any;
                continue;
            }
            if (f == 3)
            {
                // libvirt compares the raw attribute with "-1" before trying the JJ.MN form.
                if (text == "-1")
                    values[f] = UsbRedirFilterRule.Any;
                else if (!LibvirtNumbers.TryParseVersion(text, out values[f]))
                    return Invalid($"<usbdev> {index}: cannot parse USB device version '{text}'; libvirt expects "
                        + "JJ.MN with decimal parts below 100 (e.g. 2.56 for bcdDevice 0x0256) or -1.", index, text, f);
                continue;
            }
            if (!LibvirtNumbers.TryParseInt(text, out values[f]))
                return Invalid($"<usbdev> {index}: cannot parse USB {(f == 0 ? "class code" : f == 1 ? "vendor ID" : "product ID")} "
                    + $"'{text}'; write a C integer such as 0x08, 8 or 010, or -1 for any.", index, text, f);
            if (f == 0 && values[f] != -1 && (values[f] & ~0xff) != 0)
                return Invalid($"<usbdev> {index}: invalid USB class code '{text}'; it must be -1 or 0 to 0xff.", index, text, f);
        }
        var allow = (string?)usbdev.Attribute("allow");
        if (allow is null)
            return Invalid($"<usbdev> {index}: missing allow attribute for USB redirection filter.", index, null, 4);
        if (allow is not ("yes" or "no"))
            return Invalid($"<usbdev> {index}: invalid allow value '{allow}', either 'yes' or 'no'.", index, allow, 4);
        rule = new UsbRedirFilterRule(values[0], values[1], values[2], values[3], allow == "yes");
        return FilterStringParser.OutOfRange(rule, index);
    }

    private static bool IsDecimalBcd(int bcd) =>
        (bcd & 0xf) <= 9 && ((bcd >> 4) & 0xf) <= 9 && ((bcd >> 8) & 0xf) <= 9 && ((bcd >> 12) & 0xf) <= 9;

    private static UsbRedirFilterError Invalid(string message, int index, string? token, int field = -1) =>
        new(UsbRedirFilterErrorIds.FilterXmlInvalid, message,
            "Write each rule as <usbdev class='0x08' vendor='0x1234' product='0xbeef' version='2.56' allow='yes'/> inside "
            + "<redirfilter>; class, vendor, product and version are optional (any), allow is required.",
            index, field, token);
}
