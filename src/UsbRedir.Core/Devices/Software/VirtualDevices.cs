using System.Security.Cryptography;
using System.Text;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.Devices.Software;

/// <summary>Factory of the software devices the front ends export: virtual disks and keyboards.</summary>
public static class VirtualDevices
{
    public const string Manufacturer = "UsbRedir";

    /// <summary>
    /// pid.codes, the open-source vendor ID. The product IDs below are from its test range: fine for
    /// development, to be replaced by allocated PIDs before a release.
    /// </summary>
    public const ushort VendorId = 0x1209;
    public const ushort DiskProductId = 0x0001;
    public const ushort KeyboardProductId = 0x0002;

    /// <summary>bcdDevice 1.00.</summary>
    public const ushort DeviceRelease = 0x0100;

    /// <summary>The speed of a virtual disk when none is asked for.</summary>
    public const UsbSpeed DefaultDiskSpeed = UsbSpeed.High;

    /// <summary>The speed of a virtual keyboard when none is asked for (a real boot keyboard's).</summary>
    public const UsbSpeed DefaultKeyboardSpeed = UsbSpeed.Full;

    /// <summary>
    /// A USB flash drive backed by an image file (a whole number of 512-byte blocks). The serial number is derived from
    /// the image's full path, so the same image looks like the same stick to Windows and Linux every time.
    /// </summary>
    /// <exception cref="UsbRedirException">The image is missing, in use, inaccessible or of an invalid size, or the speed is not Full/High.</exception>
    public static MassStorageDevice CreateDisk(string imagePath, bool readOnly = false, UsbSpeed? speed = null)
    {
        var diskSpeed = speed ?? DefaultDiskSpeed;
        MassStorageDevice.CheckSpeed(diskSpeed);
        var image = DiskImage.Open(imagePath, readOnly);
        try
        {
            return new MassStorageDevice(image, diskSpeed, SerialFor(image.Path));
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>A US-layout boot keyboard whose keystrokes are scripted (<see cref="BootKeyboard.Type"/>). Low, Full (default) or High speed.</summary>
    public static BootKeyboard CreateKeyboard(UsbSpeed? speed = null) => new(speed ?? DefaultKeyboardSpeed);

    /// <summary>
    /// A keyboard that types <paramref name="typing"/> by itself once a host has configured it, wherever it gets plugged
    /// in (a server, QEMU, a local controller); <paramref name="typed"/> is the typing's task (never faults, see
    /// <see cref="KeyboardTyping.StartOn"/>), or a completed false without typing.
    /// </summary>
    public static BootKeyboard CreateKeyboard(UsbSpeed? speed, KeyboardTyping? typing, out Task<bool> typed, CancellationToken cancellationToken = default)
    {
        var keyboard = CreateKeyboard(speed);
        typed = typing?.StartOn(keyboard, cancellationToken) ?? Task.FromResult(false);
        return keyboard;
    }

    /// <summary>24 upper-case hex digits from the SHA-256 of the path (hosts want at least 12 hex digits, unique per stick).</summary>
    internal static string SerialFor(string fullPath) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(fullPath)), 0, 12);
}
