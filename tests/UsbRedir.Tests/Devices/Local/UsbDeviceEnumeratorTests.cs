using UsbRedir.Devices;
using UsbRedir.Devices.Local;
using UsbRedir.Filtering;

namespace UsbRedir.Tests.Devices.Local;

/// <summary>The enumeration engine over captured sysfs trees (tests/fixtures/sysfs).</summary>
public sealed class UsbDeviceEnumeratorTests
{
    private static readonly IReadOnlyList<UsbDeviceInfo> Devices = SysfsFixture.Enumerator().GetDevices();

    private static UsbDeviceInfo Device(string busId) => Devices.Single(d => d.BusId == busId);

    [Fact]
    public void Every_device_and_root_hub_is_listed_in_tree_order_without_warnings()
    {
        var warnings = new List<string>();
        var devices = SysfsFixture.Enumerator().GetDevices(warnings);
        Assert.Empty(warnings);
        Assert.Equal(["usb1", "1-1", "1-1.1", "1-1.2", "1-1.3", "1-3", "usb2", "2-2", "2-4", "usb3", "3-1", "usb4", "4-1"],
            devices.Select(d => d.BusId));
        Assert.Equal(["1", "1.0", "1.0.0", "1.0.1", "1.0.2", "1.2", "2", "2.1", "2.3", "3", "3.0", "4", "4.0"], devices.Select(d => d.Id));
    }

    [Fact]
    public void A_hub_shows_its_ports_the_free_ones_and_its_driver()
    {
        var hub = Device("1-1");
        Assert.True(hub.IsHub);
        Assert.False(hub.IsRootHub);
        Assert.Equal("1.0", hub.Id);
        Assert.Equal((0x0409, 0x55aa), (hub.VendorId, hub.ProductId));
        Assert.Equal(UsbClassCodes.Hub, hub.Class);
        Assert.Equal("Hub", hub.ClassName);
        Assert.Equal(8, hub.PortCount);
        Assert.Equal([4, 5, 6, 7, 8], hub.FreePorts);
        Assert.Equal("hub", hub.Driver);
        Assert.Equal(UsbSpeed.Full, hub.Speed);
        Assert.Equal("1", hub.ParentId);
        Assert.Equal("1", hub.Path);
    }

    [Fact]
    public void A_root_hub_is_its_bus_with_the_controller_driver_and_free_ports()
    {
        var usb1 = Device("usb1");
        Assert.True(usb1.IsRootHub);
        Assert.True(usb1.IsHub);
        Assert.Equal("1", usb1.Id);
        Assert.Null(usb1.ParentId);
        Assert.Equal(4, usb1.PortCount);
        Assert.Equal([2, 4], usb1.FreePorts); // ports 2 and 4 hold SuperSpeed disks, which are on the USB 3 bus
        Assert.Equal("xhci_hcd", usb1.Controller);
        Assert.Equal("1-0:1.0", Assert.Single(usb1.Interfaces).BusId); // sysfs names a root hub's interface by bus-0
        Assert.Equal("hub", usb1.Driver);
        Assert.False(usb1.IsVirtualController);
        Assert.Equal("dummy_hcd", Device("usb3").Controller);
        Assert.Equal("dummy_hcd", Device("3-1").Controller);
    }

    [Fact]
    public void A_stick_with_device_class_0_has_class_8_from_its_interface()
    {
        var disk = Device("1-1.1");
        Assert.Equal("1.0.0", disk.Id);
        Assert.Equal(0, disk.DeviceClass);
        Assert.Equal(UsbClassCodes.MassStorage, disk.Class);
        Assert.Equal("Mass Storage", disk.ClassName);
        Assert.Equal("usb-storage", disk.Driver);
        Assert.Equal(("QEMU", "QEMU USB HARDDRIVE"), (disk.Manufacturer, disk.Product));
        Assert.True(disk.HasStrings);
        var iface = Assert.Single(disk.Interfaces);
        Assert.Equal(("1-1.1:1.0", 0, 0x08, 0x06, 0x50, "usb-storage"), (iface.BusId, (int)iface.Number, (int)iface.Class, (int)iface.SubClass, (int)iface.Protocol, iface.Driver));
        Assert.Equal("2.00", disk.UsbVersion);
        Assert.Equal(0, disk.Version);
        Assert.Equal(1, disk.Configuration);
        Assert.Equal(Devices.Where(d => d.Class == 8).Select(d => d.BusId), ["1-1.1", "2-2", "2-4", "4-1"]);
    }

    [Fact]
    public void A_composite_device_with_iads_takes_its_first_functions_class_and_lists_every_driver()
    {
        var composite = Device("3-1");
        Assert.Equal(UsbClassCodes.Miscellaneous, composite.DeviceClass);
        Assert.Equal((0x02, 0x01), (composite.DeviceSubClass, composite.DeviceProtocol));
        Assert.Equal(UsbClassCodes.Communications, composite.Class);
        Assert.Equal([0, 1, 2, 3], composite.Interfaces.Select(i => (int)i.Number));
        Assert.Equal([0x02, 0x0a, 0x02, 0x0a], composite.Interfaces.Select(i => (int)i.Class));
        Assert.Equal("cdc_acm,cdc_ether", composite.Driver);
        Assert.Equal(("UsbRedir", "Composite IAD Gadget", "IAD0001"), (composite.Manufacturer, composite.Product, composite.SerialNumber));
    }

    [Fact]
    public void A_device_without_strings_is_named_from_usb_ids_or_unknown()
    {
        var stick = Device("4-1");
        Assert.False(stick.HasStrings);
        Assert.Null(stick.SerialNumber);
        Assert.Equal(("SanDisk Corp.", "Cruzer Blade"), (stick.Manufacturer, stick.Product));
        var unnamed = SysfsFixture.Enumerator(UsbIds.Empty).GetDevices().Single(d => d.BusId == "4-1");
        Assert.Equal((UsbDeviceInfo.UnknownName, UsbDeviceInfo.UnknownName), (unnamed.Manufacturer, unnamed.Product));
        Assert.Equal(0x0126, stick.Version);
    }

    [Fact]
    public void A_superspeed_disk_is_on_the_xhcis_usb3_bus()
    {
        var disk = Device("2-4");
        Assert.Equal("2.3", disk.Id);
        Assert.Equal(UsbSpeed.Super, disk.Speed);
        Assert.Equal("5000", disk.SpeedMbps);
        Assert.Equal("3.00", disk.UsbVersion);
        Assert.Equal("ALPHA1", disk.SerialNumber);
        Assert.Equal("xhci_hcd", disk.Controller);
        Assert.Equal(UsbSpeed.Super, Device("usb2").Speed);
        Assert.Equal(UsbSpeed.High, Device("usb1").Speed);
    }

    [Theory]
    [InlineData("1-1.1", "1-1.1")]
    [InlineData("1.0.0", "1-1.1")]
    [InlineData("2", "usb2")]
    [InlineData("usb3", "usb3")]
    [InlineData("0781:5567", "4-1")]
    [InlineData("0409:55AA", "1-1")]
    [InlineData("ALPHA1", "2-4")]
    [InlineData("IAD0001", "3-1")]
    public void Find_takes_an_id_a_busid_a_vid_pid_or_a_serial(string selector, string busId) =>
        Assert.Equal(busId, UsbDeviceEnumerator.Find(Devices, selector).BusId);

    [Fact]
    public void Find_names_every_match_when_a_vid_pid_is_ambiguous()
    {
        var e = Assert.Throws<UsbRedirException>(() => UsbDeviceEnumerator.Find(Devices, "46f4:0001"));
        Assert.Equal("UsbDeviceAmbiguous", e.ErrorId);
        Assert.Contains("3 USB devices with VID:PID '46f4:0001'", e.Message);
        Assert.Contains("2.3 (2-4, serial ALPHA1)", e.Message);
        Assert.Contains("1.0.0 (1-1.1", e.Message);
        Assert.Contains("id or busid", e.RecommendedAction);
    }

    [Theory]
    [InlineData("dead:beef", "with VID:PID")]
    [InlineData("1-1.5", "at")]
    [InlineData("7.0", "at")]
    [InlineData("NOSUCHSERIAL", "with serial number")]
    public void Find_says_what_was_not_found_and_how_to_list(string selector, string kind)
    {
        var e = Assert.Throws<UsbRedirException>(() => UsbDeviceEnumerator.Find(Devices, selector));
        Assert.Equal("UsbDeviceNotFound", e.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains($"No USB device {kind} '{selector}'", e.Message);
        Assert.Contains("usbredir list", e.RecommendedAction);
        Assert.Equal("UsbDeviceSelectorEmpty", Assert.Throws<UsbRedirException>(() => UsbDeviceEnumerator.Find(Devices, " ")).ErrorId);
    }

    [Fact]
    public void The_filter_view_has_the_raw_device_class_and_the_interfaces()
    {
        var disk = Device("1-1.1").ToFilterDevice();
        Assert.Equal("00:46f4:0001:0000 [08/06/50]", disk.ToString());
        var rules = UsbRedirFilter.Parse("0x08,-1,-1,-1,1|-1,-1,-1,-1,0");
        Assert.Equal(UsbRedirFilterDecision.Allowed, UsbRedirFilter.Check(rules, disk).Decision);
        Assert.Equal(UsbRedirFilterDecision.Denied, UsbRedirFilter.Check(rules, Device("1-1.2").ToFilterDevice()).Decision);
        Assert.Equal("ef:1d6b:0104:0100 [02/02/01 0a/00/00 02/06/00 0a/00/00]", Device("3-1").ToFilterDevice().ToString());
    }

    [Fact]
    public void One_device_can_be_read_by_its_place()
    {
        var enumerator = SysfsFixture.Enumerator();
        Assert.Equal("hub", enumerator.GetDevice(UsbPortPath.Parse("usb2"))!.Driver);
        var hub = enumerator.GetDevice(UsbPortPath.Parse("1.0"));
        Assert.NotNull(hub);
        Assert.Equal([4, 5, 6, 7, 8], hub.FreePorts);
        Assert.Equal("hub", hub.Driver);
        var warnings = new List<string>();
        Assert.Null(enumerator.GetDevice(UsbPortPath.Parse("1-1.6"), warnings));
        Assert.Contains("No USB device is plugged in at 1.0.5 (1-1.6)", Assert.Single(warnings));
    }

    [Fact]
    public void A_machine_without_usb_gives_no_devices_and_one_warning_saying_what_to_try()
    {
        var empty = Directory.CreateTempSubdirectory("usbredir-nousb-").FullName;
        var warnings = new List<string>();
        Assert.Empty(new UsbDeviceEnumerator(empty, UsbIds.Empty).GetDevices(warnings));
        var warning = Assert.Single(warnings);
        Assert.StartsWith(UsbDeviceEnumerator.NoUsbWarningStart, warning);
        Assert.Contains("modprobe xhci_pci", warning);
        var e = Assert.Throws<UsbRedirException>(() => new UsbDeviceEnumerator(empty, UsbIds.Empty).Find("1-1"));
        Assert.Contains("no USB devices at all", e.Message);
    }

    [Fact]
    public void A_device_that_vanished_odd_values_and_stray_entries_give_a_partial_list_and_warnings()
    {
        var root = SysfsFixture.Copy();
        var devices = Path.Combine(root, "bus", "usb", "devices");
        // 1-1.2 unplugged between listing and reading: its link dangles.
        Directory.Delete(new DirectoryInfo(Path.Combine(devices, "1-1.2")).ResolveLinkTarget(returnFinalTarget: true)!.FullName, recursive: true);
        // 1-3 has no descriptors file and an odd class byte; 2-2 has neither descriptors nor idVendor; 2-4 has a
        // descriptors file cut short, the device descriptor only; a stray entry.
        File.Delete(Path.Combine(devices, "1-3", "descriptors"));
        File.WriteAllText(Path.Combine(devices, "1-3", "bDeviceClass"), "zz\n");
        File.Delete(Path.Combine(devices, "2-2", "descriptors"));
        File.Delete(Path.Combine(devices, "2-2", "idVendor"));
        var cut = Path.Combine(devices, "2-4", "descriptors");
        File.WriteAllBytes(cut, File.ReadAllBytes(cut)[..18]);
        Directory.CreateDirectory(Path.Combine(devices, "not-a-device"));
        var warnings = new List<string>();
        var list = new UsbDeviceEnumerator(root, SysfsFixture.Ids).GetDevices(warnings);
        Assert.DoesNotContain(list, d => d.BusId is "1-1.2" or "2-2");
        Assert.Equal(11, list.Count);
        var tablet = list.Single(d => d.BusId == "1-3"); // read from its attribute files
        Assert.Equal(3, tablet.Class); // the interface still names it
        Assert.Equal(("0627:0001", "2.00", "usbhid"), (tablet.VidPid, tablet.UsbVersion, tablet.Driver));
        var cutShort = list.Single(d => d.BusId == "2-4"); // no configuration: no interfaces, class from the device
        Assert.Equal(("46f4:0001", 0, "3.00"), (cutShort.VidPid, (int)cutShort.Class, cutShort.UsbVersion));
        Assert.Empty(cutShort.Interfaces);
        Assert.Contains(warnings, w => w.Contains("1.0.1 (1-1.2) went away", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("bDeviceClass is 'zz'", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("Skipped USB device 2.1 (2-2): neither its descriptors nor its idVendor", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("'not-a-device'", StringComparison.Ordinal));
        Assert.Equal([4, 5, 6, 7, 8], list.Single(d => d.BusId == "1-1").FreePorts); // 1-1.2 was listed when the ports were counted
    }

    [Fact]
    public void Odd_descriptors_never_throw_and_keep_what_can_be_read()
    {
        var root = SysfsFixture.Copy();
        var devices = Path.Combine(root, "bus", "usb", "devices");
        var file = Path.Combine(devices, "1-1.3", "descriptors"); // the audio device: 2 interfaces
        var good = File.ReadAllBytes(file);
        var random = new Random(10);
        List<byte[]> mutations =
        [
            [.. good[..18], .. new byte[] { 9, 2, 0xff, 0xff, 2, 1, 0, 0x80, 50 }], // wTotalLength far past the end
            [.. good[..27], 0, 4],                                                  // a zero-length descriptor
            [.. good[..18], 9, 2, 3, 0, 2, 1, 0, 0x80, 50],                          // wTotalLength below 9
            [.. good[..18], .. Enumerable.Range(0, 200).Select(_ => (byte)random.Next(256))],
            [18, 1],                                                                // not even a device descriptor
        ];
        foreach (var bytes in mutations)
        {
            File.WriteAllBytes(file, bytes);
            var warnings = new List<string>();
            var audio = new UsbDeviceEnumerator(root, SysfsFixture.Ids).GetDevices(warnings).SingleOrDefault(d => d.BusId == "1-1.3");
            Assert.NotNull(audio);
            Assert.True(audio.Interfaces.Count <= 2);
            Assert.Equal("1-1.3", audio.BusId);
        }
        // The last one fell back to the attribute files: the whole device again.
        var fallback = new UsbDeviceEnumerator(root, SysfsFixture.Ids).GetDevices().Single(d => d.BusId == "1-1.3");
        Assert.Equal(("46f4:0002", 2, (byte)1), (fallback.VidPid, fallback.Interfaces.Count, fallback.Class));
    }

    [Fact]
    public void A_device_descriptor_longer_than_its_descriptors_file_never_throws()
    {
        // Found by fuzz/run (target sysfs-descriptors): bLength 0x80 in a 78-byte file sliced past its end.
        var root = SysfsFixture.Copy();
        var file = Path.Combine(root, "bus", "usb", "devices", "1-1.3", "descriptors");
        var bytes = File.ReadAllBytes(file)[..78];
        bytes[0] = 0x80;
        File.WriteAllBytes(file, bytes);
        var warnings = new List<string>();
        var audio = new UsbDeviceEnumerator(root, SysfsFixture.Ids).GetDevices(warnings).Single(d => d.BusId == "1-1.3");
        Assert.Equal("46f4:0002", audio.VidPid); // the device descriptor's 18 bytes are still read
        Assert.Empty(audio.Interfaces); // no configuration follows where bLength says the descriptor ends
    }
}
