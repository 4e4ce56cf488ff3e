using System.Management.Automation;
using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>New-UsbRedirFilterRule: one rule object; unspecified fields match any device.</summary>
/// <remarks>No ShouldProcess: it only creates an object in memory, like New-TimeSpan.</remarks>
[Cmdlet(VerbsCommon.New, "UsbRedirFilterRule", DefaultParameterSetName = AllowSet)]
[OutputType(typeof(UsbRedirFilterRule))]
public sealed class NewUsbRedirFilterRuleCommand : UsbRedirCmdlet
{
    private const string AllowSet = "Allow";
    private const string DenySet = "Deny";

    /// <summary>Device or interface class, e.g. 0x08 for mass storage; -1 (the default) for any.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int Class { get; set; } = UsbRedirFilterRule.Any;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int VendorId { get; set; } = UsbRedirFilterRule.Any;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int ProductId { get; set; } = UsbRedirFilterRule.Any;

    /// <summary>bcdDevice, e.g. 0x0200 for version 2.00; -1 (the default) for any.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int Version { get; set; } = UsbRedirFilterRule.Any;

    [Parameter(ParameterSetName = AllowSet, Mandatory = true)]
    public SwitchParameter Allow { get; set; }

    [Parameter(ParameterSetName = DenySet, Mandatory = true)]
    public SwitchParameter Deny { get; set; }

    protected override void Process()
    {
        var rule = new UsbRedirFilterRule(Class, VendorId, ProductId, Version, Allow.IsPresent);
        if (UsbRedirFilter.Verify([rule]) is { } error)
            throw error.ToException();
        WriteObject(rule);
    }
}
