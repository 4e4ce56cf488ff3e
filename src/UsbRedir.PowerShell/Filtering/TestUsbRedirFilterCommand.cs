using System.Management.Automation;
using UsbRedir.Devices.Local;
using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>
/// Test-UsbRedirFilter: would these rules let this device be redirected? The device comes from parameters or,
/// by property name, from any pipeline object with Class/VendorId/ProductId/Version/Interfaces properties. A device
/// from Get-UsbDevice (or a UsbRedirFilterDevice) is checked as the filter engine sees it: its raw bDeviceClass, not
/// the effective Class it shows.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "UsbRedirFilter")]
[OutputType(typeof(UsbRedirFilterTestResult))]
public sealed class TestUsbRedirFilterCommand : UsbRedirCmdlet
{
    /// <summary>Rule objects, or a filter string in the usbredir or QEMU form.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [AllowEmptyCollection]
    [FilterRuleTransformation]
    public UsbRedirFilterRule[] Filter { get; set; } = [];

    /// <summary>bDeviceClass; 0x00 and 0xEF mean "defined per interface" and skip the device pass.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("DeviceClass")]
    public byte Class { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("DeviceSubClass")]
    public byte SubClass { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("DeviceProtocol")]
    public byte Protocol { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public ushort VendorId { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public ushort ProductId { get; set; }

    /// <summary>bcdDevice, e.g. 0x0100 for version 1.00.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ushort Version { get; set; }

    /// <summary>The class/subclass/protocol of each interface, e.g. '08/06/50'.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Interfaces")]
    [AllowEmptyCollection]
    [FilterInterfaceTransformation]
    public UsbRedirFilterInterface[] Interface { get; set; } = [];

    /// <summary>The whole pipeline object: a Get-UsbDevice device or a UsbRedirFilterDevice is used as it is.</summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>A pass where no rule matches counts as allowed instead of ending the check.</summary>
    [Parameter]
    public SwitchParameter DefaultAllow { get; set; }

    /// <summary>Also check non-boot HID interfaces of multi-interface devices, which are skipped by default.</summary>
    [Parameter]
    public SwitchParameter DontSkipNonBootHid { get; set; }

    protected override void Begin()
    {
        // Rule objects built by hand can be out of range; say so once instead of once per device.
        if (UsbRedirFilter.Verify(Filter) is { } error)
            throw error.ToException();
    }

    protected override void Process()
    {
        var device = InputObject?.BaseObject switch
        {
            UsbDeviceInfo local => local.ToFilterDevice(),
            UsbRedirFilterDevice ready => ready,
            _ => new UsbRedirFilterDevice(Class, SubClass, Protocol, VendorId, ProductId, Version, Interface),
        };
        var flags = (DefaultAllow ? UsbRedirFilterCheckFlags.DefaultAllow : 0)
                    | (DontSkipNonBootHid ? UsbRedirFilterCheckFlags.DontSkipNonBootHid : 0);
        WriteObject(new UsbRedirFilterTestResult(device, UsbRedirFilter.Check(Filter, device, flags)));
    }
}
