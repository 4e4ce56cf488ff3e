using UsbRedir.Devices.Local;

namespace UsbRedir.Tests.Devices.Local;

/// <summary>
/// Which device a local export re-opens when its device comes back (<see cref="LocalUsbDeviceSource.FindAgain"/>), over
/// the sysfs fixture of a VM (2-2: 46f4:0001 with qemu's serial "1-0000:00:05.0-2", 2-4: 46f4:0001 serial ALPHA1,
/// 4-1: 0781:5567 with no serial): the same busid, or the same VID:PID and serial at another port; never another device
/// in its old port, and never a device without a serial by VID:PID alone.
/// </summary>
public sealed class LocalUsbDeviceSourceTests
{
    private static readonly IReadOnlyList<UsbDeviceInfo> Devices = SysfsFixture.Enumerator().GetDevices();

    private static string? Find(string home, ushort vendorId, ushort productId, string? serial) =>
        LocalUsbDeviceSource.FindAgain(Devices, UsbPortPath.Parse(home), vendorId, productId, serial)?.BusId;

    [Fact]
    public void The_device_is_found_again_at_its_busid() =>
        Assert.Equal("2-4", Find("2-4", 0x46f4, 0x0001, "ALPHA1"));

    [Fact]
    public void A_device_with_a_serial_number_is_found_at_another_port() =>
        Assert.Equal("2-4", Find("1-7", 0x46f4, 0x0001, "ALPHA1"));

    [Fact]
    public void Another_device_in_its_old_port_is_not_it_even_with_the_same_vid_pid()
    {
        // 2-2 holds a 46f4:0001 too, with another serial: the exported one moved to 2-4.
        Assert.Equal("2-4", Find("2-2", 0x46f4, 0x0001, "ALPHA1"));
        Assert.Null(Find("2-2", 0x46f4, 0x0001, "GONE"));
        Assert.Null(Find("2-4", 0x0627, 0x0001, null));
    }

    [Fact]
    public void A_device_without_a_serial_number_comes_back_at_its_busid_only()
    {
        Assert.Equal("4-1", Find("4-1", 0x0781, 0x5567, null));
        Assert.Null(Find("4-2", 0x0781, 0x5567, null));
    }

    [Fact]
    public void Devices_of_its_kind_that_are_not_taken_say_why()
    {
        // QEMU re-added the disk without a port: at 2-2, with the serial made from that port.
        var why = LocalUsbDeviceSource.WhyNotTaken(Devices, UsbPortPath.Parse("2-1"), 0x46f4, 0x0001, "1-0000:00:05.0-1").ToList();
        Assert.Contains(("2-2", "46f4:0001 at 2-2 has serial number 1-0000:00:05.0-2, not 1-0000:00:05.0-1: another device, not taken"), why);
        Assert.Contains(why, w => w.BusId == "2-4" && w.Why.Contains("serial number ALPHA1"));
        Assert.DoesNotContain(why, w => w.BusId == "4-1"); // another kind
        // Without a serial number only its own port is it.
        Assert.Equal([("4-1", "0781:5567 at 4-1 has no serial number to tell it from another 0781:5567: taken only at 4-2, where it was")],
            LocalUsbDeviceSource.WhyNotTaken(Devices, UsbPortPath.Parse("4-2"), 0x0781, 0x5567, null));
    }
}
