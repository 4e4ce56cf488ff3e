using System.Text.Json.Serialization;
using UsbRedir.Filtering;

namespace UsbRedir.Devices.Local;

/// <summary>
/// A USB device plugged into this machine, as the Linux kernel lists it in sysfs (<see cref="UsbDeviceEnumerator"/>):
/// where it is (<see cref="Id"/>, <see cref="BusId"/>), what it is (ids, effective <see cref="Class"/>, names), how it
/// is connected (<see cref="Speed"/>, <see cref="Controller"/>) and which drivers use it. Root hubs are devices too
/// (<see cref="IsRootHub"/>, id "2", busid "usb2"). A snapshot: nothing here changes after it is read.
/// </summary>
public sealed class UsbDeviceInfo
{
    /// <summary>What <see cref="Manufacturer"/> and <see cref="Product"/> say when neither the device nor usb.ids names it.</summary>
    public const string UnknownName = "unknown";

    internal UsbDeviceInfo(UsbPortPath portPath)
    {
        PortPath = portPath;
    }

    /// <summary>The port chain this device is plugged into: the one conversion between <see cref="Id"/> and <see cref="BusId"/>.</summary>
    [JsonIgnore] // Id, BusId, Bus and Path say the same in JSON
    public UsbPortPath PortPath { get; }

    /// <summary>The original VHCI tools' id: bus, then the 0-based index of each port ("2.0.2"); "2" for a root hub.</summary>
    public string Id => PortPath.Id;

    /// <summary>The sysfs name ("2-1.3"), as usbip and usbipd-win call it; "usb2" for a root hub.</summary>
    public string BusId => PortPath.BusId;

    /// <summary>The bus number (busnum).</summary>
    public int Bus => PortPath.Bus;

    /// <summary>The address on the bus (devnum), as lsusb's "Device 003".</summary>
    public int Address { get; internal init; }

    /// <summary>The 1-based ports from the root hub down, joined by dots ("1.3", as sysfs devpath); "" for a root hub.</summary>
    public string Path => string.Join('.', PortPath.Ports);

    /// <summary>The 1-based port of the parent hub this device is in; 0 for a root hub.</summary>
    public int Port => PortPath.IsRootHub ? 0 : PortPath.Ports[^1];

    /// <summary>The id of the hub this device is plugged into (a root hub's is the bus, "2"); null for a root hub.</summary>
    public string? ParentId => PortPath.Parent?.Id;

    public ushort VendorId { get; internal init; }

    public ushort ProductId { get; internal init; }

    /// <summary>"0781:5567" as lsusb prints it.</summary>
    public string VidPid => $"{VendorId:x4}:{ProductId:x4}";

    /// <summary>bcdDevice, the device's release (0x0100 = 1.00).</summary>
    public ushort Version { get; internal init; }

    /// <summary>bcdUSB as sysfs writes it, "2.00", "3.20".</summary>
    public string UsbVersion { get; internal init; } = "";

    public UsbSpeed Speed { get; internal init; } = UsbSpeed.Unknown;

    /// <summary>The signalling rate in Mbit/s as sysfs gives it ("1.5", "12", "480", "5000", "10000", "20000").</summary>
    public string SpeedMbps { get; internal init; } = "";

    /// <summary>The device's manufacturer string, else the vendor's name from usb.ids, else "unknown".</summary>
    public string Manufacturer { get; internal init; } = UnknownName;

    /// <summary>The device's product string, else the product's name from usb.ids, else "unknown".</summary>
    public string Product { get; internal init; } = UnknownName;

    /// <summary>The device's serial number string; null when it has none.</summary>
    public string? SerialNumber { get; internal init; }

    /// <summary>True when <see cref="Manufacturer"/> and <see cref="Product"/> came from the device's own strings.</summary>
    public bool HasStrings { get; internal init; }

    /// <summary>
    /// The class a user means: bDeviceClass, or, when that is 0 (per interface) or 0xEF (miscellaneous/IAD), the class
    /// of the first interface of the active configuration (a USB stick with bDeviceClass 0 and one mass-storage
    /// interface has Class 8). An unconfigured device keeps its bDeviceClass.
    /// </summary>
    public byte Class { get; internal init; }

    /// <summary>The name of <see cref="Class"/>: "Mass Storage", "HID", "Hub", ...</summary>
    public string ClassName => UsbClassCodes.Name(Class);

    /// <summary>bDeviceClass, the raw byte (the filter engine's device pass uses this one).</summary>
    public byte DeviceClass { get; internal init; }

    public byte DeviceSubClass { get; internal init; }

    public byte DeviceProtocol { get; internal init; }

    /// <summary>bConfigurationValue of the active configuration; 0 when the device is unconfigured.</summary>
    public byte Configuration { get; internal init; }

    /// <summary>The interfaces of the active configuration, by number.</summary>
    public IReadOnlyList<UsbInterfaceInfo> Interfaces { get; internal init; } = [];

    /// <summary>The drivers bound to the interfaces, distinct, in interface order ("usb-storage", "snd-usb-audio,usbhid"); "" when none is.</summary>
    public string Driver => string.Join(',', Interfaces.Select(i => i.Driver).OfType<string>().Distinct());

    /// <summary>A hub (bDeviceClass 9), root hubs included.</summary>
    public bool IsHub => DeviceClass == UsbClassCodes.Hub;

    /// <summary>The root hub of a bus (id "2", busid "usb2").</summary>
    public bool IsRootHub => PortPath.IsRootHub;

    /// <summary>For a hub, its number of downstream ports (sysfs maxchild); 0 for other devices.</summary>
    public int PortCount { get; internal init; }

    /// <summary>For a hub, the 1-based ports with no device plugged in.</summary>
    public IReadOnlyList<int> FreePorts { get; internal init; } = [];

    /// <summary>The driver of the host controller the device's bus belongs to (xhci_hcd, ehci-pci, vhci_hcd, usbredir_vhci, ...); "" when unknown.</summary>
    public string Controller { get; internal init; } = "";

    /// <summary>True when the bus is one of the virtual host controllers devices are imported into (usbip's vhci_hcd, this project's usbredir_vhci).</summary>
    public bool IsVirtualController => UsbDeviceEnumerator.IsVirtualControllerDriver(Controller);

    /// <summary>True while an export or local forward of this process holds the device (read now, not when listed).</summary>
    public bool InUseByUsbRedir => LocalUsbDevice.IsExported(PortPath);

    /// <summary>
    /// The device as the filter engine sees it (usbredirfilter_check): bDeviceClass, ids, bcdDevice and the class
    /// triple of each interface (the setting in use, at most 32 as usbredirhost reads).
    /// </summary>
    public UsbRedirFilterDevice ToFilterDevice() =>
        new(DeviceClass, DeviceSubClass, DeviceProtocol, VendorId, ProductId, Version,
            Interfaces.Take(32).Select(i => new UsbRedirFilterInterface(i.Class, i.SubClass, i.Protocol)).ToArray());

    /// <summary>"2.0.2 (2-1.3) 0781:5567 Mass Storage SanDisk Corp. Cruzer Blade".</summary>
    public override string ToString() => $"{Id} ({BusId}) {VidPid} {ClassName} {Manufacturer} {Product}";
}
