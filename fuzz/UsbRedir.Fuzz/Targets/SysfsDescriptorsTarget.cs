using System.Globalization;
using UsbRedir.Devices.Local;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The enumeration engine's reading of sysfs's <c>descriptors</c> file (<see cref="UsbDeviceEnumerator"/>): a sysfs
/// tree with one device, 1-1, whose interfaces 1-1:1.0..1.3 and 1-1:2.0..2.1 exist; the first input byte is its
/// bConfigurationValue, the rest its descriptors file (device descriptor, then configuration descriptors). When the
/// descriptors are unusable the engine falls back to the attribute files, which the tree also has.
/// </summary>
/// <remarks>Expected: none. The engine never throws for odd sysfs content; it warns.</remarks>
internal static class SysfsDescriptorsTarget
{
    private static readonly Lazy<(UsbDeviceEnumerator Enumerator, string DeviceDir)> Tree = new(CreateTree);

    public static void Run(byte[] data)
    {
        var (enumerator, deviceDir) = Tree.Value;
        var input = new FuzzInput(data);
        File.WriteAllText(Path.Combine(deviceDir, "bConfigurationValue"), input.Byte().ToString(CultureInfo.InvariantCulture) + "\n");
        File.WriteAllBytes(Path.Combine(deviceDir, "descriptors"), input.Rest());
        var warnings = new List<string>();
        var devices = enumerator.GetDevices(warnings);
        var device = devices.SingleOrDefault(d => d.BusId == "1-1");
        Invariant.Check(device is not null, "device 1-1 was not listed: " + string.Join(" | ", warnings));
        Invariant.Check(device!.Interfaces.Count <= 4, $"{device.Interfaces.Count} interfaces where sysfs lists at most 4 per configuration");
        Invariant.Check(device.Interfaces.Select(i => i.Number).Distinct().Count() == device.Interfaces.Count, "an interface listed twice");
        _ = device.ToString();
    }

    private static (UsbDeviceEnumerator, string) CreateTree()
    {
        var root = Path.Combine(FuzzScratch.Directory, "sysfs");
        var devices = Path.Combine(root, "bus", "usb", "devices");
        var device = Path.Combine(devices, "1-1");
        Directory.CreateDirectory(device);
        // The attribute files the engine reads when the descriptors file is missing or odd (a QEMU usb-storage's values).
        foreach (var (name, value) in new[]
                 {
                     ("idVendor", "46f4"), ("idProduct", "0001"), ("bcdDevice", "0000"), ("version", " 2.00"), ("bDeviceClass", "00"),
                     ("bDeviceSubClass", "00"), ("bDeviceProtocol", "00"), ("devnum", "2"), ("speed", "480"), ("manufacturer", "QEMU"),
                     ("product", "QEMU USB HARDDRIVE"), ("serial", "1-0000:00:04.0-1"), ("maxchild", "0"),
                 })
            File.WriteAllText(Path.Combine(device, name), value + "\n");
        foreach (var iface in new[] { "1-1:1.0", "1-1:1.1", "1-1:1.2", "1-1:1.3", "1-1:2.0", "1-1:2.1" })
        {
            var dir = Path.Combine(devices, iface);
            Directory.CreateDirectory(dir);
            var number = iface[^1..];
            foreach (var (name, value) in new[] { ("bInterfaceNumber", "0" + number), ("bInterfaceClass", "08"), ("bInterfaceSubClass", "06"), ("bInterfaceProtocol", "50") })
                File.WriteAllText(Path.Combine(dir, name), value + "\n");
        }
        return (new UsbDeviceEnumerator(root, UsbIds.Empty), device);
    }
}
