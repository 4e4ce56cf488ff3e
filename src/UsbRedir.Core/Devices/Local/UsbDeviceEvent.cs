using System.Text;

namespace UsbRedir.Devices.Local;

/// <summary>Whether a device was plugged in or unplugged.</summary>
public enum UsbDeviceEventKind
{
    Added,
    Removed,
}

/// <summary>
/// One plug or unplug of a USB device (not of an interface), as the kernel announces it in a uevent.
/// </summary>
public sealed class UsbDeviceEvent : EventArgs
{
    public UsbDeviceEvent(UsbDeviceEventKind kind, UsbPortPath portPath, UsbDeviceInfo? device)
    {
        ArgumentNullException.ThrowIfNull(portPath);
        Kind = kind;
        PortPath = portPath;
        Device = device;
    }

    public UsbDeviceEventKind Kind { get; }

    public UsbPortPath PortPath { get; }

    /// <summary>"2.0.2".</summary>
    public string Id => PortPath.Id;

    /// <summary>"2-1.3".</summary>
    public string BusId => PortPath.BusId;

    /// <summary>
    /// The device as read from sysfs when it was added, or as last seen before it was removed; null when it could not
    /// be read (already gone again) or was never seen.
    /// </summary>
    public UsbDeviceInfo? Device { get; }

    /// <summary>"added 2.0.2 (2-1.3) 0781:5567 ..." / "removed 2.0.2 (2-1.3)".</summary>
    public override string ToString() =>
        $"{(Kind == UsbDeviceEventKind.Added ? "added" : "removed")} {Id} ({BusId})"
        + (Device is { } d ? $" {d.VidPid} {d.ClassName} {d.Manufacturer} {d.Product}" : "");

    /// <summary>
    /// Reads a kernel uevent message ("bind@/devices/...\0ACTION=bind\0DEVPATH=...\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0...")
    /// and returns the device's place when it is a USB device (not an interface) being plugged in or unplugged; false
    /// for everything else (interfaces, other subsystems, other actions, udev's own "libudev" messages, garbage).
    /// A plug is the "bind" of the device to usbcore's generic driver, not its "add": the kernel sends it once the
    /// device is configured and its interfaces exist, so the device can be read whole.
    /// </summary>
    public static bool TryParseUevent(ReadOnlySpan<byte> message, out UsbDeviceEventKind kind, out UsbPortPath path)
    {
        kind = default;
        path = null!;
        string? action = null, devpath = null, subsystem = null, devtype = null;
        var first = true;
        while (!message.IsEmpty)
        {
            var end = message.IndexOf((byte)0);
            var field = end < 0 ? message : message[..end];
            message = end < 0 ? default : message[(end + 1)..];
            if (first)
            {
                first = false;
                if (field.IndexOf((byte)'@') < 0)
                    return false; // not a kernel uevent header
                continue;
            }
            var eq = field.IndexOf((byte)'=');
            if (eq <= 0)
                continue;
            var key = field[..eq];
            var value = field[(eq + 1)..];
            if (key.SequenceEqual("ACTION"u8)) action = Encoding.ASCII.GetString(value);
            else if (key.SequenceEqual("DEVPATH"u8)) devpath = Encoding.ASCII.GetString(value);
            else if (key.SequenceEqual("SUBSYSTEM"u8)) subsystem = Encoding.ASCII.GetString(value);
            else if (key.SequenceEqual("DEVTYPE"u8)) devtype = Encoding.ASCII.GetString(value);
        }
        if (subsystem != "usb" || devtype != "usb_device" || devpath is null)
            return false;
        switch (action)
        {
            case "bind": kind = UsbDeviceEventKind.Added; break;
            case "remove": kind = UsbDeviceEventKind.Removed; break;
            default: return false;
        }
        var name = devpath[(devpath.LastIndexOf('/') + 1)..];
        return UsbPortPath.TryParse(name, out path) && path.BusId == name;
    }
}
