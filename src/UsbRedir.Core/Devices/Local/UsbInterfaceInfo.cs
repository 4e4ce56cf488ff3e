namespace UsbRedir.Devices.Local;

/// <summary>One interface of a device's active configuration, as sysfs shows it (its current alternate setting).</summary>
public sealed class UsbInterfaceInfo
{
    public UsbInterfaceInfo(string busId, byte number, byte alternateSetting, byte @class, byte subClass, byte protocol,
        string? driver, string? name)
    {
        ArgumentNullException.ThrowIfNull(busId);
        BusId = busId;
        Number = number;
        AlternateSetting = alternateSetting;
        Class = @class;
        SubClass = subClass;
        Protocol = protocol;
        Driver = driver;
        Name = name;
    }

    /// <summary>The sysfs name, device busid then ":configuration.interface": "2-1.3:1.0".</summary>
    public string BusId { get; }

    /// <summary>bInterfaceNumber.</summary>
    public byte Number { get; }

    /// <summary>bAlternateSetting of the setting in use.</summary>
    public byte AlternateSetting { get; }

    /// <summary>bInterfaceClass.</summary>
    public byte Class { get; }

    public byte SubClass { get; }

    public byte Protocol { get; }

    /// <summary>"Mass Storage", "HID", ...</summary>
    public string ClassName => UsbClassCodes.Name(Class);

    /// <summary>The kernel driver bound to the interface (usb-storage, usbhid, ...); null when none is.</summary>
    public string? Driver { get; }

    /// <summary>The interface's own string (iInterface), when it has one.</summary>
    public string? Name { get; }

    /// <summary>"0: 08/06/50 Mass Storage (usb-storage)".</summary>
    public override string ToString() => $"{Number}: {Class:x2}/{SubClass:x2}/{Protocol:x2} {ClassName} ({Driver ?? "no driver"})";
}
