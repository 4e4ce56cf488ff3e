using System.Management.Automation;
using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>ConvertFrom-UsbRedirFilter: a filter string or libvirt &lt;redirfilter&gt; XML → one rule object per rule.</summary>
[Cmdlet(VerbsData.ConvertFrom, "UsbRedirFilter", DefaultParameterSetName = FilterSeparatorParameters.Separators)]
[OutputType(typeof(UsbRedirFilterRule))]
public sealed class ConvertFromUsbRedirFilterCommand : UsbRedirCmdlet
{
    /// <summary>The filter string; each pipeline string is converted on its own.</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.Separators, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = FilterSeparatorParameters.Qemu, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string Filter { get; set; } = "";

    /// <summary>Characters that separate the five fields of a rule (any one of them).</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.Separators)]
    public string TokenSeparator { get; set; } = UsbRedirFilterSeparators.Wire.TokenSeparators;

    /// <summary>Characters that separate rules (any one of them).</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.Separators)]
    public string RuleSeparator { get; set; } = UsbRedirFilterSeparators.Wire.RuleSeparators;

    /// <summary>Read QEMU's usb-redir form, "0x08:-1:-1:-1:1|…".</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.Qemu, Mandatory = true)]
    public SwitchParameter Qemu { get; set; }

    /// <summary>libvirt XML holding one &lt;redirfilter&gt;: the element, a &lt;devices&gt; element or a whole domain.</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.LibvirtXml, Mandatory = true)]
    public string LibvirtXml { get; set; } = "";

    protected override void Process()
    {
        var rules = ParameterSetName == FilterSeparatorParameters.LibvirtXml
            ? UsbRedirFilterXml.Parse(LibvirtXml)
            : UsbRedirFilter.Parse(Filter, FilterSeparatorParameters.Choose(Qemu, TokenSeparator, RuleSeparator));
        foreach (var rule in rules)
            WriteObject(rule);
    }
}
