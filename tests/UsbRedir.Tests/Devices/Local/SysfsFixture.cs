using UsbRedir.Devices.Local;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Devices.Local;

/// <summary>
/// tests/fixtures/sysfs/qemu-xhci: the USB part of a guest's sysfs, captured by tests/fixtures/sysfs/capture.py under
/// qemu (see its README): an xHCI with a hub (storage, keyboard, audio behind it), a tablet, two SuperSpeed disks
/// on the USB 3 bus; and two dummy_hcd gadgets: a composite ACM+ECM device with IADs, and a stick without strings.
/// </summary>
internal static class SysfsFixture
{
    public static string Root => RepoPaths.Combine("tests", "fixtures", "sysfs", "qemu-xhci", "sys");

    /// <summary>Names for the string-less stick, as usb.ids has them.</summary>
    public static UsbIds Ids { get; } = UsbIds.Parse(new StringReader("0781  SanDisk Corp.\n\t5567  Cruzer Blade\n"));

    public static UsbDeviceEnumerator Enumerator(UsbIds? ids = null) => new(Root, ids ?? Ids);

    /// <summary>A writable copy of the fixture (links kept), for tests that break it.</summary>
    public static string Copy()
    {
        var target = Directory.CreateTempSubdirectory("usbredir-sysfs-").FullName;
        var psi = new System.Diagnostics.ProcessStartInfo("cp", ["-a", Root, target]);
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return Path.Combine(target, "sys");
    }
}
