namespace UsbRedir.Controllers.Usbip;

/// <summary>The errors of the stock vhci_hcd backend, each naming the cause and the fix.</summary>
internal static class VhciHcdErrors
{
    // The shared wording (ErrorId UsbipModuleMissing) both front ends already document.
    public static UsbRedirException NotLoaded(VhciHcdSysfs sysfs) => ControllerErrors.UsbipModuleMissing(sysfs.ControllerDirectory);

    public static UsbRedirException ModuleMissing(string kernel, string detail) => new("VhciHcdModuleMissing", UsbRedirErrorCategory.NotInstalled,
        $"The running kernel {kernel} has no vhci-hcd module ({detail.Trim()}).",
        "Install the kernel's USB/IP modules (Debian/Ubuntu ship them in linux-image-*; Fedora in kernel-modules-extra), " +
        "or use a kernel built with CONFIG_USBIP_VHCI_HCD, or the vhci-ctrl backend (kernel/ in this project).", kernel);

    public static UsbRedirException LoadDenied(string detail) => new("VhciHcdLoadDenied", UsbRedirErrorCategory.PermissionDenied,
        $"vhci_hcd is not loaded and this process may not load kernel modules{(detail.Length > 0 ? $" ({detail.Trim()})" : "")}.",
        "Run 'sudo modprobe vhci-hcd' once (or add vhci-hcd to /etc/modules-load.d), then retry; " +
        "or use the vhci-ctrl backend (kernel/ in this project), whose udev rule lets a chosen group use it without root.");

    public static UsbRedirException LoadFailed(int exitCode, string detail) => new("VhciHcdLoadFailed", UsbRedirErrorCategory.DeviceError,
        $"'modprobe vhci-hcd' failed with exit code {exitCode}: {detail.Trim()}",
        "Check 'dmesg' for the kernel's reason, fix it, then retry.");

    public static UsbRedirException AttachDenied(VhciHcdSysfs sysfs, int errno) => new("VhciHcdAttachDenied", UsbRedirErrorCategory.PermissionDenied,
        $"Writing {sysfs.AttachPath} was refused: {UsbipNative.Describe(errno)}. vhci_hcd's attach and detach files are root-only (mode 0200).",
        "Run as root (sudo), or use the vhci-ctrl backend, whose udev rule lets a chosen group plug devices.", sysfs.AttachPath);

    public static UsbRedirException AttachFailed(VhciHcdSysfs sysfs, int port, int errno) => new("VhciHcdAttachFailed", UsbRedirErrorCategory.DeviceError,
        $"vhci_hcd refused to attach port {port}: {UsbipNative.Describe(errno)}.",
        "Check 'dmesg' for vhci_hcd's reason; EINVAL usually means a speed the kernel does not support on that hub.", port);

    public static UsbRedirException NoFreePort(VhciHcdHub hub, int total) => new("VhciHcdNoFreePort", UsbRedirErrorCategory.ResourceBusy,
        $"Every {(hub == VhciHcdHub.SuperSpeed ? "SuperSpeed (ss)" : "USB 2.0 (hs)")} port of vhci_hcd is in use ({total} ports).",
        "Unplug a device ('usbip port' lists them, 'usbip detach -p N' frees one), or load vhci-hcd with more controllers " +
        "(it has CONFIG_USBIP_VHCI_NR_HCS of them).", hub);
}
