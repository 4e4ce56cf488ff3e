namespace UsbRedir.Devices.Local;

/// <summary>
/// The errors of opening and claiming a local USB device, each naming the cause and the fix. ErrorIds are stable
/// (scripts and tests match on them).
/// </summary>
public static class LocalDeviceErrors
{
    /// <summary>Where the udev rule that gives USB device nodes to a group lives in the repository.</summary>
    public const string UdevRule = "packaging/udev/70-usbredir-usb.rules";

    public static UsbRedirException NotFound(UsbPortPath path) => new(
        "UsbDeviceNotFound", UsbRedirErrorCategory.ObjectNotFound,
        $"No USB device is plugged in at {path.Id} (busid {path.BusId}).",
        "List the devices with Get-UsbDevice or 'usbredir list' and give one of their ids.", path.Id);

    public static UsbRedirException RootHub(UsbPortPath path) => new(
        "UsbDeviceIsRootHub", UsbRedirErrorCategory.InvalidArgument,
        $"{path.Id} ({path.BusId}) is the root hub of bus {path.Bus}, part of the host controller; it cannot be exported.",
        "Give a device plugged into one of its ports, e.g. " + path.Child(1).Id + ".", path.Id);

    public static UsbRedirException Hub(UsbPortPath path) => new(
        "UsbDeviceIsHub", UsbRedirErrorCategory.InvalidOperation,
        $"{path.Id} ({path.BusId}) is a USB hub: exporting it takes every device behind it away from this machine.",
        "Export the devices behind it one by one, or, if you mean it, allow hubs (-AllowHub, --allow-hub).", path.Id);

    public static UsbRedirException InUseHere(UsbPortPath path) => new(
        "UsbDeviceInUse", UsbRedirErrorCategory.ResourceBusy,
        $"{path.Id} ({path.BusId}) is already exported by UsbRedir in this process.",
        "Disconnect the connection that exports it first, then try again.", path.Id);

    public static UsbRedirException InUseElsewhere(UsbPortPath path, string node, int interfaceNumber) => new(
        "UsbDeviceInUse", UsbRedirErrorCategory.ResourceBusy,
        $"{path.Id} ({path.BusId}, {node}) is in use by another program: interface {interfaceNumber} is claimed through usbfs " +
        "(another usbredir, usbredirect, a VM or a libusb program).",
        $"Stop the program that holds it (fuser -v {node} names it), then try again.", path.Id);

    public static UsbRedirException AccessDenied(UsbPortPath path, string node) => new(
        "UsbDeviceAccessDenied", UsbRedirErrorCategory.PermissionDenied,
        $"Access to {node} ({path.Id}, busid {path.BusId}) was refused: exporting a USB device needs write access to its device node.",
        $"Run as root, or install {UdevRule} (it gives USB device nodes to group 'usbredir'), create the group " +
        "(groupadd -r usbredir), add yourself (usermod -aG usbredir $USER), log in again and re-plug the device.", node);

    public static UsbRedirException Failed(UsbPortPath path, string what, int error) => new(
        "UsbDeviceOpenFailed", UsbRedirErrorCategory.DeviceError,
        $"{path.Id} ({path.BusId}): {what} failed: {LibUsb.Describe(error)}.",
        "Check the device (dmesg names USB errors), re-plug it and try again.", path.Id);
}
