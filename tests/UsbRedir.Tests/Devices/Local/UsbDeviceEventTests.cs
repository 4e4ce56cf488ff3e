using System.Text;
using UsbRedir.Devices.Local;

namespace UsbRedir.Tests.Devices.Local;

public sealed class UsbDeviceEventTests
{
    private static byte[] Uevent(string action, string devpath, params string[] more) =>
        Encoding.ASCII.GetBytes(string.Join('\0', [$"{action}@{devpath}", $"ACTION={action}", $"DEVPATH={devpath}", .. more]) + "\0");

    [Fact]
    public void The_bind_of_a_usb_device_is_a_plug_and_its_remove_an_unplug()
    {
        const string devpath = "/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1.3";
        Assert.True(UsbDeviceEvent.TryParseUevent(Uevent("bind", devpath, "SUBSYSTEM=usb", "DEVTYPE=usb_device", "DRIVER=usb"),
            out var kind, out var path));
        Assert.Equal(UsbDeviceEventKind.Added, kind);
        Assert.Equal("1.0.2", path.Id);
        Assert.Equal("1-1.3", path.BusId);
        Assert.True(UsbDeviceEvent.TryParseUevent(Uevent("remove", devpath, "SUBSYSTEM=usb", "DEVTYPE=usb_device"), out kind, out path));
        Assert.Equal(UsbDeviceEventKind.Removed, kind);
        Assert.Equal("1-1.3", path.BusId);
    }

    [Fact]
    public void A_root_hub_is_reported_by_its_bus()
    {
        Assert.True(UsbDeviceEvent.TryParseUevent(Uevent("bind", "/devices/platform/usbredir_vhci.0/usb3", "SUBSYSTEM=usb", "DEVTYPE=usb_device"),
            out _, out var path));
        Assert.True(path.IsRootHub);
        Assert.Equal("3", path.Id);
    }

    [Theory]
    [InlineData("add", "usb", "usb_device")]            // not yet configured: the bind follows
    [InlineData("unbind", "usb", "usb_device")]
    [InlineData("change", "usb", "usb_device")]
    [InlineData("bind", "usb", "usb_interface")]
    [InlineData("remove", "usb", "usb_interface")]
    [InlineData("remove", "block", "disk")]
    [InlineData("remove", "usb", null)]
    public void Other_events_are_not_plugs(string action, string subsystem, string? devtype)
    {
        var more = devtype is null ? new[] { $"SUBSYSTEM={subsystem}" } : [$"SUBSYSTEM={subsystem}", $"DEVTYPE={devtype}"];
        Assert.False(UsbDeviceEvent.TryParseUevent(Uevent(action, "/devices/pci0000:00/0000:00:04.0/usb1/1-1", more), out _, out _));
    }

    [Fact]
    public void Udev_messages_and_garbage_are_ignored()
    {
        var udev = Encoding.ASCII.GetBytes("libudev\0\u00fe\u00ed\u00ca\u00feACTION=bind\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0DEVPATH=/devices/x/usb1/1-1\0");
        Assert.False(UsbDeviceEvent.TryParseUevent(udev, out _, out _));
        Assert.False(UsbDeviceEvent.TryParseUevent([], out _, out _));
        Assert.False(UsbDeviceEvent.TryParseUevent(Uevent("bind", "/devices/x/not-a-busid", "SUBSYSTEM=usb", "DEVTYPE=usb_device"), out _, out _));
        Assert.False(UsbDeviceEvent.TryParseUevent("bind@/x\0ACTION=bind\0SUBSYSTEM=usb\0DEVTYPE=usb_device"u8, out _, out _)); // no DEVPATH
    }

    [Fact]
    public void The_watcher_opens_the_kernel_uevent_socket_and_stops_promptly()
    {
        var root = Directory.CreateTempSubdirectory("usbredir-nousb-");
        using var watcher = new UsbDeviceWatcher(new UsbDeviceEnumerator(root.FullName, UsbIds.Empty));
        watcher.Start();
        Assert.True(watcher.IsRunning);
        Assert.Throws<InvalidOperationException>(watcher.Start);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        watcher.Dispose();
        Assert.False(watcher.IsRunning);
        Assert.Null(watcher.LastError);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"Dispose took {sw.Elapsed}");
        Assert.Throws<ObjectDisposedException>(watcher.Start);
    }

    [Fact]
    public void A_plug_carries_the_device_read_then_and_its_unplug_the_same_and_a_throwing_handler_stops_nothing()
    {
        using var watcher = new UsbDeviceWatcher(SysfsFixture.Enumerator());
        var seen = new List<UsbDeviceEvent>();
        watcher.DeviceChanged += (_, e) => seen.Add(e);
        watcher.DeviceChanged += (_, _) => throw new InvalidOperationException("a handler's bug");
        var keyboard = UsbPortPath.Parse("1-1.2");
        watcher.Deliver(UsbDeviceEventKind.Added, keyboard);
        watcher.Deliver(UsbDeviceEventKind.Added, keyboard); // a driver re-bound: not a second plug
        watcher.Deliver(UsbDeviceEventKind.Removed, keyboard);
        watcher.Deliver(UsbDeviceEventKind.Removed, UsbPortPath.Parse("1-1.7")); // never seen: reported without a description
        Assert.Equal(3, seen.Count);
        Assert.Equal("added 1.0.1 (1-1.2) 0627:0001 HID QEMU QEMU USB Keyboard", seen[0].ToString());
        Assert.Same(seen[0].Device, seen[1].Device);
        Assert.Equal("removed 1.0.1 (1-1.2) 0627:0001 HID QEMU QEMU USB Keyboard", seen[1].ToString());
        Assert.Equal("removed 1.0.6 (1-1.7)", seen[2].ToString());
        Assert.Equal("a handler's bug", watcher.LastError?.Message);
    }

    [Fact]
    public void Watch_lines_are_text_or_one_json_object_each()
    {
        var device = SysfsFixture.Enumerator().GetDevice(UsbPortPath.Parse("2-4"));
        var e = new UsbDeviceEvent(UsbDeviceEventKind.Added, UsbPortPath.Parse("2-4"), device);
        Assert.Equal("added 2.3 (2-4) 46f4:0001 Mass Storage QEMU QEMU USB HARDDRIVE", UsbRedir.Cli.Commands.ListCommand.EventLine(e, json: false));
        var json = UsbRedir.Cli.Commands.ListCommand.EventLine(e, json: true);
        Assert.DoesNotContain('\n', json);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal("Added", doc.RootElement.GetProperty("Event").GetString());
        Assert.Equal("2-4", doc.RootElement.GetProperty("BusId").GetString());
        Assert.Equal("ALPHA1", doc.RootElement.GetProperty("Device").GetProperty("SerialNumber").GetString());
    }
}
