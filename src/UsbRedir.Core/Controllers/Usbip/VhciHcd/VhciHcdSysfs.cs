using UsbRedir.Devices;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// The sysfs interface of Linux's stock USB/IP host controller (drivers/usb/usbip/vhci_sysfs.c). Every controller's
/// files sit on the first one, /sys/devices/platform/vhci_hcd.0: <c>status</c>, <c>status.1</c>… (one per
/// controller), <c>attach</c> ("port sockfd devid speed") and <c>detach</c> ("port"), both root-only.
/// </summary>
public sealed class VhciHcdSysfs
{
    public const string DefaultPlatformDirectory = "/sys/devices/platform";

    /// <param name="platformDirectory">Where the platform devices are; tests point this at a fake tree.</param>
    public VhciHcdSysfs(string platformDirectory = DefaultPlatformDirectory) =>
        ControllerDirectory = Path.Combine(platformDirectory, "vhci_hcd.0");

    /// <summary>The directory holding attach, detach and the status files.</summary>
    public string ControllerDirectory { get; }

    public string AttachPath => Path.Combine(ControllerDirectory, "attach");

    public string DetachPath => Path.Combine(ControllerDirectory, "detach");

    /// <summary>True when vhci_hcd is loaded (its attach file exists).</summary>
    public bool IsPresent => File.Exists(AttachPath);

    /// <summary>Every port of every controller, from all status files, in port order.</summary>
    public List<VhciHcdPort> ReadPorts()
    {
        if (!Directory.Exists(ControllerDirectory))
            throw VhciHcdErrors.NotLoaded(this);
        var files = Directory.GetFiles(ControllerDirectory, "status*")
            .Where(f => Path.GetFileName(f) == "status" || Path.GetFileName(f).StartsWith("status.", StringComparison.Ordinal));
        return files.SelectMany(f => VhciHcdPort.ParseStatus(File.ReadAllText(f))).OrderBy(p => p.Port).ToList();
    }

    /// <summary>
    /// Connects <paramref name="port"/> to the socket <paramref name="socketFd"/> of this process. Returns false when the
    /// port was taken meanwhile (EBUSY; the usbip tool retries the next free port then); throws for every other failure.
    /// </summary>
    public bool TryAttach(int port, int socketFd, uint deviceId, UsbSpeed speed)
    {
        var errno = UsbipNative.WriteAttribute(AttachPath, $"{port} {socketFd} {deviceId} {WireSpeed(speed)}");
        return errno switch
        {
            0 => true,
            UsbipNative.EBUSY => false,
            UsbipNative.ENOENT => throw VhciHcdErrors.NotLoaded(this),
            UsbipNative.EACCES or UsbipNative.EPERM => throw VhciHcdErrors.AttachDenied(this, errno),
            _ => throw VhciHcdErrors.AttachFailed(this, port, errno),
        };
    }

    /// <summary>Unplugs <paramref name="port"/>. Returns false when it was not attached (EINVAL), e.g. already torn down.</summary>
    public bool TryDetach(int port)
    {
        var errno = UsbipNative.WriteAttribute(DetachPath, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return errno switch
        {
            0 => true,
            UsbipNative.EACCES or UsbipNative.EPERM => throw VhciHcdErrors.AttachDenied(this, errno),
            _ => false,
        };
    }

    /// <summary>The hub a device of <paramref name="speed"/> must use: vhci_hcd sends only SuperSpeed to the USB 3 hub.</summary>
    public static VhciHcdHub HubFor(UsbSpeed speed) => speed == UsbSpeed.Super ? VhciHcdHub.SuperSpeed : VhciHcdHub.HighSpeed;

    /// <summary>enum usb_device_speed, which attach takes: LOW 1, FULL 2, HIGH 3, SUPER 5 (6.1 refuses SUPER_PLUS).</summary>
    public static int WireSpeed(UsbSpeed speed) => speed switch
    {
        UsbSpeed.Low => 1,
        UsbSpeed.Full => 2,
        UsbSpeed.High => 3,
        UsbSpeed.Super => 5,
        _ => throw new UsbRedirException("UsbipSpeedUnknown", UsbRedirErrorCategory.InvalidArgument,
            $"vhci_hcd needs the device's speed to attach it, but the device reports {speed}.",
            "Give the device a definite speed (Low, Full, High or Super)."),
    };
}
