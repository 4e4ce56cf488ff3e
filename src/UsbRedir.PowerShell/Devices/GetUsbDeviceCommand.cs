using System.Management.Automation;
using UsbRedir.Devices.Local;

namespace UsbRedir.PowerShell.Devices;

/// <summary>
/// Get-UsbDevice: the USB devices plugged into this machine (UsbDeviceEnumerator over sysfs), filtered by id, busid,
/// ids or class. Hubs (root hubs included) only with -IncludeHubs or when named by id.
/// </summary>
[Cmdlet(VerbsCommon.Get, "UsbDevice")]
[OutputType(typeof(UsbDeviceInfo))]
public sealed class GetUsbDeviceCommand : UsbRedirCmdlet
{
    private IReadOnlyList<UsbDeviceInfo> _devices = [];

    /// <summary>Ids ("2.0.2") or busids ("2-1.3") of the devices to get.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(UsbDeviceIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Id { get; set; }

    /// <summary>Busids ("2-1.3", as sysfs, usbip and usbipd-win name them) or ids of the devices to get.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(UsbDeviceIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? BusId { get; set; }

    /// <summary>Vendor ids in hex, as lsusb shows them: 0781, 46f4 or 0x0781 (see UsbIdInput).</summary>
    [Parameter]
    [UsbIdTransformation]
    public ushort[]? VendorId { get; set; }

    /// <summary>Product ids in hex, as lsusb shows them: 5567 or 0x5567.</summary>
    [Parameter]
    [UsbIdTransformation]
    public ushort[]? ProductId { get; set; }

    /// <summary>The effective class (8 = mass storage, 3 = HID, 1 = audio, ...): see UsbDeviceInfo.Class.</summary>
    [Parameter]
    public byte[]? Class { get; set; }

    /// <summary>Also gets hubs and the root hub of each bus.</summary>
    [Parameter]
    public SwitchParameter IncludeHubs { get; set; }

    protected override void Begin()
    {
        var warnings = new List<string>();
        _devices = UsbDeviceEnumerator.FromEnvironment().GetDevices(warnings);
        foreach (var warning in warnings)
            WriteWarning(warning);
    }

    protected override void Process()
    {
        var named = (Id ?? []).Concat(BusId ?? []).ToList();
        IEnumerable<UsbDeviceInfo> selected;
        if (named.Count > 0)
        {
            var found = new List<UsbDeviceInfo>();
            foreach (var text in named)
            {
                var path = UsbPortPath.Parse(text);
                if (_devices.FirstOrDefault(d => d.PortPath.Equals(path)) is { } device)
                {
                    if (!found.Contains(device))
                        found.Add(device);
                }
                else
                {
                    WriteError(new UsbRedirException("UsbDeviceNotFound", UsbRedirErrorCategory.ObjectNotFound,
                        $"No USB device is plugged in at {path.Id} ({path.BusId}).",
                        "Get-UsbDevice -IncludeHubs lists every device with its Id and BusId.", text));
                }
            }
            selected = found;
        }
        else
        {
            selected = _devices.Where(d => IncludeHubs || !d.IsHub);
        }
        foreach (var device in selected)
            if ((VendorId is null || VendorId.Contains(device.VendorId))
                && (ProductId is null || ProductId.Contains(device.ProductId))
                && (Class is null || Class.Contains(device.Class)))
                WriteObject(device);
    }
}
