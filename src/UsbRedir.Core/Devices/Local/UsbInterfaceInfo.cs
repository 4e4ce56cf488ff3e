namespace UsbRedir.Devices.Local;

/// <summary>
/// One interface of a device's active configuration: its class triple from its first alternate setting (as
/// usbredirhost's filter check reads it) and the kernel driver bound to it.
/// </summary>
public sealed class UsbInterfaceInfo
{
    public UsbInterfaceInfo(string busId, byte number, byte @class, byte subClass, byte protocol, string? driver)
    {
        ArgumentNullException.ThrowIfNull(busId);
        BusId = busId;
        Number = number;
        Class = @class;
        SubClass = subClass;
        Protocol = protocol;
        Driver = driver;
    }

    /// <summary>The sysfs name, device busid then ":configuration.interface": "2-1.3:1.0".</summary>
    public string BusId { get; }

    /// <summary>bInterfaceNumber.</summary>
    public byte Number { get; }

    /// <summary>bInterfaceClass.</summary>
    public byte Class { get; }

    public byte SubClass { get; }

    public byte Protocol { get; }

    /// <summary>"Mass Storage", "HID", ...</summary>
    public string ClassName => UsbClassCodes.Name(Class);

    /// <summary>The kernel driver bound to the interface (usb-storage, usbhid, ...); null when none is.</summary>
    public string? Driver { get; }

    /// <summary>"0: 08/06/50 Mass Storage (usb-storage)".</summary>
    public override string ToString() => $"{Number}: {Class:x2}/{SubClass:x2}/{Protocol:x2} {ClassName} ({Driver ?? "no driver"})";
}
