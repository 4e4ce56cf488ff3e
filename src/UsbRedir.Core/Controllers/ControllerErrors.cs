using UsbRedir.Devices;

namespace UsbRedir.Controllers;

/// <summary>
/// The errors every controller backend raises, in one place so both backends word them the same way: each names the
/// cause and the fix. ErrorIds are stable (scripts and tests match on them).
/// </summary>
public static class ControllerErrors
{
    /// <summary>Where the udev rule that opens /dev/vhci-ctrl to a group lives in the repository.</summary>
    public const string UdevRule = "kernel/60-usbredir-vhci.rules";

    public static UsbRedirException VhciModuleMissing(string devicePath) => new(
        "VhciModuleMissing", UsbRedirErrorCategory.NotInstalled,
        $"{devicePath} does not exist: the usbredir_vhci kernel module is not loaded.",
        "Build and load it (make -C kernel && sudo insmod kernel/usbredir_vhci.ko, or install it with DKMS: see kernel/README.md), " +
        "or use the stock USB/IP controller with backend Usbip (sudo modprobe vhci-hcd).",
        devicePath);

    public static UsbRedirException UsbipModuleMissing(string sysfsPath) => new(
        "UsbipModuleMissing", UsbRedirErrorCategory.NotInstalled,
        $"{sysfsPath} does not exist: the USB/IP vhci_hcd kernel module is not loaded.",
        "Load it as root (sudo modprobe vhci-hcd), or use the project's own controller with backend VhciCtrl.",
        sysfsPath);

    public static UsbRedirException AccessDenied(string path, Exception? inner = null) => new(
        "ControllerAccessDenied", UsbRedirErrorCategory.PermissionDenied,
        $"Access to {path} was refused: creating a virtual USB controller needs root or membership of its group.",
        $"Run as root, or install {UdevRule} (it gives the node to group 'usbredir'), create the group " +
        "(groupadd -r usbredir), add yourself (usermod -aG usbredir $USER) and log in again.",
        path, inner);

    public static UsbRedirException AbiMismatch(string path, int moduleVersion, int expectedVersion) => new(
        "VhciAbiMismatch", UsbRedirErrorCategory.NotInstalled,
        $"The usbredir_vhci module behind {path} speaks ABI version {moduleVersion}; this UsbRedir needs version {expectedVersion}.",
        "Rebuild and reload the module from the kernel/ folder of this UsbRedir release (sudo rmmod usbredir_vhci; make -C kernel; sudo insmod kernel/usbredir_vhci.ko).",
        path);

    public static UsbRedirException BackendUnavailable(ControllerBackend backend) => new(
        "ControllerBackendUnavailable", UsbRedirErrorCategory.NotInstalled,
        $"The {backend} controller backend is not part of this build of UsbRedir.",
        $"Use another backend ({string.Join(", ", Enum.GetNames<ControllerBackend>())}) or a UsbRedir build that includes {backend}.",
        backend);

    public static UsbRedirException PortCountInvalid(int ports, int maxPorts, ControllerBackend backend) => new(
        "PortCountInvalid", UsbRedirErrorCategory.InvalidArgument,
        $"A {backend} controller has 1 to {maxPorts} ports; {ports} were asked for.",
        $"Ask for 1 to {maxPorts} ports.",
        ports);

    public static UsbRedirException PortNumberInvalid(string controller, int port, int portCount) => new(
        "PortNumberInvalid", UsbRedirErrorCategory.InvalidArgument,
        $"Controller {controller} has ports 1 to {portCount}; there is no port {port}.",
        $"Name a port from 1 to {portCount}, or 0 for the first free one.",
        port);

    public static UsbRedirException NoFreePort(string controller, int portCount) => new(
        "ControllerNoFreePort", UsbRedirErrorCategory.ResourceBusy,
        $"All {portCount} ports of controller {controller} are in use.",
        "Unplug a device first, or create another controller (or one with more ports).",
        controller);

    public static UsbRedirException PortInUse(string controller, int port, IUsbDevice occupant) => new(
        "ControllerPortInUse", UsbRedirErrorCategory.ResourceBusy,
        $"Port {port} of controller {controller} already holds {occupant.Description}.",
        "Unplug it first, or pass port 0 to use the first free port.",
        port);

    public static UsbRedirException PortEmpty(string controller, int port) => new(
        "ControllerPortEmpty", UsbRedirErrorCategory.ObjectNotFound,
        $"Nothing is plugged into port {port} of controller {controller}.",
        "List the ports to see which hold a device.",
        port);

    public static UsbRedirException DeviceAlreadyPlugged(string controller, int port, IUsbDevice device) => new(
        "DeviceAlreadyPlugged", UsbRedirErrorCategory.InvalidOperation,
        $"{device.Description} is already plugged into port {port} of controller {controller}.",
        "A device can sit in one port at a time: unplug it there first.",
        device);

    public static UsbRedirException DeviceSpeedUnsupported(string controller, IUsbDevice device, string supported) => new(
        "DeviceSpeedUnsupported", UsbRedirErrorCategory.InvalidArgument,
        $"{device.Description} runs at {device.Speed} speed; controller {controller} has {supported} ports only.",
        "Plug it into a controller whose ports support that speed.",
        device);

    public static UsbRedirException Closed(string controller, Exception? fault) => new(
        "ControllerClosed", UsbRedirErrorCategory.InvalidOperation,
        fault is null
            ? $"Controller {controller} has been removed."
            : $"Controller {controller} stopped working: {fault.Message}",
        "Create a new controller.",
        controller, fault);
}
