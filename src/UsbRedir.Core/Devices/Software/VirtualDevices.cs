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

    /// <summary>
    /// A USB flash drive backed by an image file (a whole number of 512-byte blocks). The serial number is derived from
    /// the image's full path, so the same image looks like the same stick to Windows and Linux every time.
    /// </summary>
    /// <exception cref="UsbRedirException">The image is missing, in use, inaccessible or of an invalid size, or the speed is not Full/High.</exception>
    public static MassStorageDevice CreateDisk(string imagePath, bool readOnly = false, UsbSpeed speed = UsbSpeed.High)
    {
        MassStorageDevice.CheckSpeed(speed);
        var image = DiskImage.Open(imagePath, readOnly);
        try
        {
            return new MassStorageDevice(image, speed, SerialFor(image.Path));
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>A US-layout boot keyboard whose keystrokes are scripted (<see cref="BootKeyboard.Type"/>). Low, Full (default) or High speed.</summary>
    public static BootKeyboard CreateKeyboard(UsbSpeed speed = UsbSpeed.Full) => new(speed);

    /// <summary>24 upper-case hex digits from the SHA-256 of the path (hosts want at least 12 hex digits, unique per stick).</summary>
    internal static string SerialFor(string fullPath) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(fullPath)), 0, 12);
}
