using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Devices.Local;

/// <summary>
/// The enumeration engine against the real kernel, in one guest boot (tests/vm/scenarios/usb-list.sh): a qemu-xhci
/// with a usb-hub holding a usb-storage, usb-kbd and usb-audio, and beside it a usb-tablet and two SuperSpeed
/// usb-storage disks on the USB 3 bus. The built `usbredir list --json` must agree with sysfs, `lsusb -t` and
/// `lsusb -v` on every device; then a keyboard added and removed through QMP gives one plug and one unplug line
/// from `usbredir list --watch`.
/// </summary>
public sealed partial class UsbEnumerationVmTests(ITestOutputHelper output)
{
    /// <summary>Root hubs (2), the hub, the three devices behind it, the tablet and the two SuperSpeed disks.</summary>
    private const int DeviceCount = 9;

    private static readonly Lazy<Run> GuestRun = new(RunInGuest);

    private sealed record Run(GuestRunResult Result, string Shared, string QmpLog);

    private static Run RunInGuest()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-enum-").FullName;
        foreach (var disk in new[] { "hub-disk", "ss-disk", "ss-disk2" })
        {
            using var f = File.Create(Path.Combine(shared, disk + ".img"));
            f.SetLength(8 << 20);
        }
        var qmp = Path.Combine(shared, "qmp.sock");
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(4) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.Add("xhci_pci");
        options.QemuArgs.AddRange([
            .. QmpClient.QemuArgs(qmp),
            "-audiodev", "none,id=snd0",
            "-device", "qemu-xhci,id=xhci",
            "-device", "usb-hub,bus=xhci.0,port=1",
            "-drive", $"if=none,id=hubdisk,format=raw,file={shared}/hub-disk.img",
            "-device", "usb-storage,bus=xhci.0,port=1.1,drive=hubdisk",
            "-device", "usb-kbd,bus=xhci.0,port=1.2",
            "-device", "usb-audio,bus=xhci.0,port=1.3,audiodev=snd0",
            "-device", "usb-tablet,bus=xhci.0,port=3",
            "-drive", $"if=none,id=ssdisk,format=raw,file={shared}/ss-disk.img",
            "-device", "usb-storage,bus=xhci.0,port=2,drive=ssdisk",
            "-drive", $"if=none,id=ssdisk2,format=raw,file={shared}/ss-disk2.img",
            "-device", "usb-storage,bus=xhci.0,port=4,drive=ssdisk2,serial=ALPHA1",
        ]);
        var guest = GuestVm.RunAsync(
            ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "usb-list.sh"),
             Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), shared, DeviceCount.ToString(CultureInfo.InvariantCulture)],
            options);
        var log = new List<string>();
        try
        {
            HotPlugAsync(shared, qmp, guest, log).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            log.Add($"hot-plug driver failed: {e}");
        }
        return new Run(guest.GetAwaiter().GetResult(), shared, string.Join('\n', log));
    }

    // Waits (also through the machine-wide guest lock) for the guest's watcher, plugs a keyboard into the hub's
    // fourth port, waits until the guest saw it, unplugs it.
    private static async Task HotPlugAsync(string shared, string qmpPath, Task guest, List<string> log)
    {
        if (!await WaitForFileAsync(Path.Combine(shared, "watch-ready"), guest))
        {
            log.Add("the guest never started watching");
            return;
        }
        await using var qmp = await QmpClient.ConnectAsync(qmpPath, guest);
        log.Add("device_add: " + (await qmp.ExecuteAsync("device_add",
            new Dictionary<string, string> { ["driver"] = "usb-kbd", ["id"] = "hotkbd", ["bus"] = "xhci.0", ["port"] = "1.4" }))?.ToJsonString());
        if (!await WaitForFileAsync(Path.Combine(shared, "plug-seen"), guest))
        {
            log.Add("the guest never saw the plug");
            return;
        }
        log.Add("device_del: " + (await qmp.ExecuteAsync("device_del", new Dictionary<string, string> { ["id"] = "hotkbd" }))?.ToJsonString());
    }

    private static async Task<bool> WaitForFileAsync(string path, Task guest)
    {
        while (!File.Exists(path))
        {
            if (guest.IsCompleted)
                return false;
            await Task.Delay(100);
        }
        return true;
    }

    private Run Guest
    {
        get
        {
            var run = GuestRun.Value;
            output.WriteLine(run.Result.ToString());
            output.WriteLine(run.QmpLog);
            Assert.True(run.Result.ExitCode == 0, run.Result.ToString() + "\n" + run.QmpLog);
            return run;
        }
    }

    private string SharedFile(string name) => File.ReadAllText(Path.Combine(Guest.Shared, name));

    private Dictionary<string, JsonElement> ListJson()
    {
        using var doc = JsonDocument.Parse(SharedFile("list.json"));
        return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToDictionary(e => e.GetProperty("BusId").GetString()!);
    }

    /// <summary>sysfs.txt: name → attribute → value.</summary>
    private Dictionary<string, Dictionary<string, string>> Sysfs()
    {
        var result = new Dictionary<string, Dictionary<string, string>>();
        foreach (var line in SharedFile("sysfs.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('|', 3);
            if (!result.TryGetValue(parts[0], out var attrs))
                result[parts[0]] = attrs = [];
            attrs[parts[1]] = parts[2];
        }
        return result;
    }

    private static int Hex(string text) => int.Parse(text.Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private static string? Str(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).GetString();

    [VmFact]
    public void List_json_agrees_with_sysfs_on_every_device_and_interface()
    {
        var json = ListJson();
        var sysfs = Sysfs();
        var deviceNames = sysfs.Keys.Where(k => !k.Contains(':')).ToList();
        Assert.Equal(DeviceCount, deviceNames.Count);
        Assert.Equal(deviceNames.Order(), json.Keys.Order());
        foreach (var name in deviceNames)
        {
            var s = sysfs[name];
            var j = json[name];
            Assert.Equal(Hex(s["idVendor"]), j.GetProperty("VendorId").GetInt32());
            Assert.Equal(Hex(s["idProduct"]), j.GetProperty("ProductId").GetInt32());
            Assert.Equal(Hex(s["bcdDevice"]), j.GetProperty("Version").GetInt32());
            Assert.Equal(s["version"].Trim(), j.GetProperty("UsbVersion").GetString());
            Assert.Equal(s["speed"], j.GetProperty("SpeedMbps").GetString());
            Assert.Equal(int.Parse(s["devnum"], CultureInfo.InvariantCulture), j.GetProperty("Address").GetInt32());
            Assert.Equal(int.Parse(s["busnum"], CultureInfo.InvariantCulture), j.GetProperty("Bus").GetInt32());
            Assert.Equal(Hex(s["bDeviceClass"]), j.GetProperty("DeviceClass").GetInt32());
            Assert.Equal(s.GetValueOrDefault("manufacturer"), Str(j, "Manufacturer"));
            Assert.Equal(s.GetValueOrDefault("product"), Str(j, "Product"));
            Assert.Equal(s.GetValueOrDefault("serial"), Str(j, "SerialNumber"));
            if (Hex(s["bDeviceClass"]) == 9)
                Assert.Equal(int.Parse(s["maxchild"], CultureInfo.InvariantCulture), j.GetProperty("PortCount").GetInt32());
            var prefix = name.StartsWith("usb", StringComparison.Ordinal) ? $"{name[3..]}-0:" : name + ":"; // root hub usb2's is 2-0:1.0
            var interfaces = sysfs.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(interfaces);
            var jsonInterfaces = j.GetProperty("Interfaces").EnumerateArray().ToDictionary(i => i.GetProperty("BusId").GetString()!);
            Assert.Equal(interfaces.Select(i => i.Key).Order(), jsonInterfaces.Keys.Order());
            foreach (var (ifName, ia) in interfaces)
            {
                var ji = jsonInterfaces[ifName];
                Assert.Equal(Hex(ia["bInterfaceNumber"]), ji.GetProperty("Number").GetInt32());
                Assert.Equal(Hex(ia["bInterfaceClass"]), ji.GetProperty("Class").GetInt32());
                Assert.Equal(Hex(ia["bInterfaceSubClass"]), ji.GetProperty("SubClass").GetInt32());
                Assert.Equal(Hex(ia["bInterfaceProtocol"]), ji.GetProperty("Protocol").GetInt32());
                Assert.Equal(ia.GetValueOrDefault("driver"), Str(ji, "Driver"));
            }
        }
    }

    [VmFact]
    public void List_json_agrees_with_lsusb_v_on_ids_versions_classes_and_strings()
    {
        var json = ListJson().Values.ToDictionary(j => (j.GetProperty("Bus").GetInt32(), j.GetProperty("Address").GetInt32()));
        var blocks = Regex.Split(SharedFile("lsusb-v.txt"), @"^(?=Bus \d{3} Device \d{3}: ID )", RegexOptions.Multiline)
            .Where(b => b.StartsWith("Bus ", StringComparison.Ordinal)).ToList();
        Assert.Equal(DeviceCount, blocks.Count);
        foreach (var block in blocks)
        {
            var head = Regex.Match(block, @"^Bus (\d{3}) Device (\d{3}): ID ([0-9a-f]{4}):([0-9a-f]{4})");
            var j = json[(int.Parse(head.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(head.Groups[2].Value, CultureInfo.InvariantCulture))];
            var where = $"{j.GetProperty("BusId").GetString()}: ";
            Assert.True(Hex(head.Groups[3].Value) == j.GetProperty("VendorId").GetInt32(), where + "idVendor");
            Assert.True(Hex(head.Groups[4].Value) == j.GetProperty("ProductId").GetInt32(), where + "idProduct");
            string Field(string name) => Regex.Match(block, $@"^\s+{name}\s+(.*)$", RegexOptions.Multiline).Groups[1].Value.TrimEnd();
            Assert.Equal(Field("bcdUSB"), j.GetProperty("UsbVersion").GetString());
            var bcd = Field("bcdDevice").Split('.');
            Assert.True((Hex(bcd[0]) << 8 | Hex(bcd[1])) == j.GetProperty("Version").GetInt32(), where + "bcdDevice " + Field("bcdDevice"));
            var deviceClass = int.Parse(Field("bDeviceClass").Split(' ')[0], CultureInfo.InvariantCulture);
            Assert.True(deviceClass == j.GetProperty("DeviceClass").GetInt32(), where + "bDeviceClass");
            foreach (var (field, property) in new[] { ("iManufacturer", "Manufacturer"), ("iProduct", "Product"), ("iSerial", "SerialNumber") })
            {
                var m = Regex.Match(Field(field), @"^(\d+)\s?(.*)$");
                if (m.Groups[1].Value != "0")
                    Assert.True(m.Groups[2].Value == Str(j, property), $"{where}{field} '{m.Groups[2].Value}' vs {property} '{Str(j, property)}'");
            }
            // The interfaces (altsetting 0) and the effective class from them.
            var interfaceClasses = Regex.Matches(block, @"bInterfaceNumber\s+(\d+)\s+bAlternateSetting\s+(\d+)\s+bNumEndpoints\s+\d+\s+bInterfaceClass\s+(\d+)")
                .Where(m => m.Groups[2].Value == "0")
                .Select(m => (Number: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Class: int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)))
                .OrderBy(i => i.Number).ToList();
            var jsonInterfaces = j.GetProperty("Interfaces").EnumerateArray().Select(i => (i.GetProperty("Number").GetInt32(), i.GetProperty("Class").GetInt32())).ToList();
            Assert.Equal(interfaceClasses, jsonInterfaces);
            var effective = deviceClass is 0 or 0xef && interfaceClasses.Count > 0 ? interfaceClasses[0].Class : deviceClass;
            Assert.True(effective == j.GetProperty("Class").GetInt32(), where + "effective class");
        }
    }

    [VmFact]
    public void List_json_agrees_with_lsusb_t_on_places_addresses_drivers_and_speeds()
    {
        var json = ListJson();
        var ports = new List<int>();
        var bus = 0;
        var lines = SharedFile("lsusb-t.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var checkedInterfaces = 0;
        foreach (var line in lines)
        {
            var root = Regex.Match(line, @"^/:\s+Bus (\d+)\.Port \d+: Dev (\d+), Class=root_hub, Driver=([^/]+)/(\d+)p, (\S+)M$");
            if (root.Success)
            {
                bus = int.Parse(root.Groups[1].Value, CultureInfo.InvariantCulture);
                ports.Clear();
                var r = json[$"usb{bus}"];
                Assert.Equal(int.Parse(root.Groups[2].Value, CultureInfo.InvariantCulture), r.GetProperty("Address").GetInt32());
                Assert.Equal(root.Groups[3].Value, r.GetProperty("Controller").GetString());
                Assert.Equal(int.Parse(root.Groups[4].Value, CultureInfo.InvariantCulture), r.GetProperty("PortCount").GetInt32());
                Assert.Equal(root.Groups[5].Value, r.GetProperty("SpeedMbps").GetString());
                continue;
            }
            var m = Regex.Match(line, @"^( *)\|__ Port (\d+): Dev (\d+), If (\d+), Class=[^,]+, Driver=([^,]*), (\S+)M$");
            Assert.True(m.Success, $"unexpected lsusb -t line '{line}'");
            var depth = (m.Groups[1].Value.Length - 4) / 4 + 1;
            while (ports.Count >= depth)
                ports.RemoveAt(ports.Count - 1);
            ports.Add(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            var busId = $"{bus}-{string.Join('.', ports)}";
            Assert.True(json.TryGetValue(busId, out var j), $"lsusb -t shows {busId}, usbredir list does not");
            Assert.Equal(int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), j.GetProperty("Address").GetInt32());
            Assert.Equal(m.Groups[6].Value, j.GetProperty("SpeedMbps").GetString());
            var driver = m.Groups[5].Value.Split('/')[0]; // "hub/8p"
            var iface = j.GetProperty("Interfaces").EnumerateArray().Single(i => i.GetProperty("Number").GetInt32() == int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture));
            Assert.Equal(driver.Length == 0 ? null : driver, Str(iface, "Driver"));
            checkedInterfaces++;
        }
        Assert.True(checkedInterfaces >= DeviceCount - 2, $"only {checkedInterfaces} interfaces in lsusb -t");
    }

    [VmFact]
    public void The_disks_are_exactly_the_class_8_devices_and_the_superspeed_ones_are_on_the_usb3_bus()
    {
        var json = ListJson().Values.ToList();
        var disks = json.Where(j => j.GetProperty("Class").GetInt32() == 8).Select(j => j.GetProperty("BusId").GetString()!).Order().ToList();
        var storageBound = Sysfs().Where(kv => kv.Value.GetValueOrDefault("driver") == "usb-storage").Select(kv => kv.Key.Split(':')[0]).Order().ToList();
        Assert.Equal(storageBound, disks);
        Assert.Equal(3, disks.Count);
        foreach (var j in json.Where(j => j.GetProperty("Class").GetInt32() == 8))
            Assert.Equal(0, j.GetProperty("DeviceClass").GetInt32()); // class 8 comes from the interface
        var super = json.Where(j => j.GetProperty("Speed").GetString() == "Super" && !j.GetProperty("IsRootHub").GetBoolean()).ToList();
        Assert.Equal(2, super.Count);
        Assert.All(super, j => Assert.StartsWith("3.", j.GetProperty("UsbVersion").GetString()));
        Assert.Single(super, j => Str(j, "SerialNumber") == "ALPHA1");
        Assert.All(json, j => Assert.Equal("xhci_hcd", j.GetProperty("Controller").GetString()));
        Assert.Equal("", SharedFile("list.err"));
    }

    [VmFact]
    public void The_tree_shows_buses_hubs_devices_and_unconnected_ports_and_dash_l_is_the_same()
    {
        var tree = SharedFile("list.txt");
        output.WriteLine(tree);
        Assert.Matches(@"(?m)^bus 1 \(usb1\): xhci_hcd, USB 2\.00, high speed \(480 Mbit/s\), 4 ports$", tree);
        Assert.Matches(@"(?m)^bus 2 \(usb2\): xhci_hcd, USB 3\.00, super speed \(5000 Mbit/s\), 4 ports$", tree);
        Assert.Matches(@"(?m)^  port 1\.0 \(1-1\): 0409:55aa Hub, full speed \(12 Mbit/s\), QEMU QEMU USB Hub, .*8 ports \[hub\]$", tree);
        Assert.Matches(@"(?m)^    port 1\.0\.0 \(1-1\.1\): 46f4:0001 Mass Storage, .* \[usb-storage\]$", tree);
        Assert.Matches(@"(?m)^    port 1\.0\.7: unconnected port$", tree);
        Assert.Matches(@"(?m)^  port 1\.1: unconnected port$", tree); // port 2 of bus 1: its disk is SuperSpeed, on bus 2
        Assert.Matches(@"(?m)^  port 2\.3 \(2-4\): 46f4:0001 Mass Storage, super speed .*serial ALPHA1 \[usb-storage\]$", tree);
        Assert.Equal(tree, SharedFile("list-l.txt"));
    }

    [VmFact]
    public void A_keyboard_added_and_removed_through_qmp_gives_one_plug_and_one_unplug_event()
    {
        var run = Guest;
        Assert.Contains("PASS watch.started", run.Result.Stdout);
        Assert.Contains("PASS watch.added", run.Result.Stdout);
        Assert.Contains("PASS watch.removed", run.Result.Stdout);
        var lines = SharedFile("watch.out").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var events = lines.SkipWhile(l => !l.StartsWith("added ", StringComparison.Ordinal) && !l.StartsWith("removed ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, events.Count);
        Assert.Matches(@"^added 1\.0\.3 \(1-1\.4\) 0627:0001 HID QEMU QEMU USB Keyboard$", events[0]);
        Assert.Matches(@"^removed 1\.0\.3 \(1-1\.4\) 0627:0001 HID", events[1]);
    }
}
