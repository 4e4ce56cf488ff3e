using System.Management.Automation;
using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>ConvertTo-UsbRedirFilter: all rules from the pipeline → one filter string (or libvirt XML).</summary>
[Cmdlet(VerbsData.ConvertTo, "UsbRedirFilter", DefaultParameterSetName = FilterSeparatorParameters.Separators)]
[OutputType(typeof(string))]
public sealed class ConvertToUsbRedirFilterCommand : UsbRedirCmdlet
{
    private readonly List<UsbRedirFilterRule> _rules = [];

    /// <summary>Rule objects, or filter strings in the usbredir or QEMU form.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyCollection]
    [FilterRuleTransformation]
    public UsbRedirFilterRule[] Rule { get; set; } = [];

    /// <summary>Written between the fields of a rule (the first character is used).</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.Separators)]
    public string TokenSeparator { get; set; } = UsbRedirFilterSeparators.Wire.TokenSeparators;

    /// <summary>Written between rules (the first character is used).</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.Separators)]
    public string RuleSeparator { get; set; } = UsbRedirFilterSeparators.Wire.RuleSeparators;

    /// <summary>Write QEMU's usb-redir form.</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.Qemu, Mandatory = true)]
    public SwitchParameter Qemu { get; set; }

    /// <summary>Write a libvirt &lt;redirfilter&gt; element.</summary>
    [Parameter(ParameterSetName = FilterSeparatorParameters.LibvirtXml, Mandatory = true)]
    public SwitchParameter AsLibvirtXml { get; set; }

    // Order matters in a filter (the first matching rule decides), so the whole pipeline becomes one filter.
    protected override void Process() => _rules.AddRange(Rule);

    protected override void End() =>
        WriteObject(AsLibvirtXml
            ? UsbRedirFilterXml.Format(_rules)
            : UsbRedirFilter.Format(_rules, FilterSeparatorParameters.Choose(Qemu, TokenSeparator, RuleSeparator)));
}
