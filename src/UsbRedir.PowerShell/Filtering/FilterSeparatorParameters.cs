using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>The parameter-set names and separator choice shared by ConvertFrom- and ConvertTo-UsbRedirFilter.</summary>
internal static class FilterSeparatorParameters
{
    /// <summary>Fields and rules split by -TokenSeparator/-RuleSeparator (default the usbredir form ',' and '|').</summary>
    public const string Separators = "Separators";

    /// <summary>QEMU's usb-redir filter property form, ':' and '|'.</summary>
    public const string Qemu = "Qemu";

    /// <summary>libvirt's &lt;redirfilter&gt; XML.</summary>
    public const string LibvirtXml = "LibvirtXml";

    public static UsbRedirFilterSeparators Choose(bool qemu, string tokenSeparator, string ruleSeparator) =>
        qemu ? UsbRedirFilterSeparators.Qemu : new UsbRedirFilterSeparators(tokenSeparator, ruleSeparator);
}
