using System.Reflection;
using System.Text.Json;
using UsbRedir.Devices.Local;
using UsbRedir.Tests.Devices.Local;

namespace UsbRedir.Tests.Cli;

/// <summary>
/// `usbredir list` driven in-process over the captured sysfs tree, named by USBREDIR_SYSFS_ROOT as users would. The
/// variable is process-wide: every test that sets it is in this class, whose tests xunit runs one at a time.
/// </summary>
public sealed class ListCommandTests
{
    private static (int Exit, string Out, string Err) Run(string root, params string[] args)
    {
        var previous = Environment.GetEnvironmentVariable(UsbDeviceEnumerator.SysfsRootVariable);
        Environment.SetEnvironmentVariable(UsbDeviceEnumerator.SysfsRootVariable, root);
        try
        {
            return FilterCommandTests.Run(args);
        }
        finally
        {
            Environment.SetEnvironmentVariable(UsbDeviceEnumerator.SysfsRootVariable, previous);
        }
    }

    [Fact]
    public void The_tree_has_a_line_per_bus_and_port_with_hubs_nested_and_unconnected_ports()
    {
        var (exit, output, error) = Run(SysfsFixture.Root, "list");
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(22, lines.Length); // 4 buses, 4+8+4+1+1 ports
        Assert.Equal("bus 1 (usb1): xhci_hcd, USB 2.00, high speed (480 Mbit/s), 4 ports", lines[0]);
        Assert.Equal("  port 1.0 (1-1): 0409:55aa Hub, full speed (12 Mbit/s), QEMU QEMU USB Hub, serial 314159-0000:00:05.0-1, 8 ports [hub]", lines[1]);
        Assert.Equal("    port 1.0.0 (1-1.1): 46f4:0001 Mass Storage, full speed (12 Mbit/s), QEMU QEMU USB HARDDRIVE, serial 1-0000:00:05.0-1.1 [usb-storage]", lines[2]);
        Assert.Equal("    port 1.0.3: unconnected port", lines[5]);
        Assert.Equal("  port 1.1: unconnected port", lines[10]);
        Assert.Contains("bus 3 (usb3): dummy_hcd, USB 2.00, high speed (480 Mbit/s), 1 port", lines);
        Assert.Contains("  port 3.0 (3-1): 1d6b:0104 Communications, high speed (480 Mbit/s), UsbRedir Composite IAD Gadget, serial IAD0001 [cdc_acm,cdc_ether]", lines);
        Assert.Contains("  port 4.0 (4-1): 0781:5567 Mass Storage, high speed (480 Mbit/s), SanDisk Corp. Cruzer Blade [usb-storage]", lines);
        Assert.Equal(output, Run(SysfsFixture.Root, "-l").Out);
    }

    [Fact]
    public void Json_is_every_device_with_the_cmdlets_property_names()
    {
        var (exit, output, _) = Run(SysfsFixture.Root, "list", "--json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(output);
        var devices = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(13, devices.Count);
        var expected = typeof(UsbDeviceInfo).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name != nameof(UsbDeviceInfo.PortPath)).Select(p => p.Name).Order();
        Assert.All(devices, d => Assert.Equal(expected, d.EnumerateObject().Select(p => p.Name).Order()));
        var disk = devices.Single(d => d.GetProperty("BusId").GetString() == "1-1.1");
        Assert.Equal(("1.0.0", 8, 0, "High"), (disk.GetProperty("Id").GetString(), disk.GetProperty("Class").GetInt32(),
            disk.GetProperty("DeviceClass").GetInt32(), devices[0].GetProperty("Speed").GetString()));
        Assert.Equal("usb-storage", disk.GetProperty("Interfaces")[0].GetProperty("Driver").GetString());
    }

    [Fact]
    public void Without_usb_it_says_so_in_one_line_with_what_to_try()
    {
        var empty = Directory.CreateTempSubdirectory("usbredir-nousb-").FullName;
        var (exit, output, error) = Run(empty, "list");
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("No USB devices: this machine has no USB bus", line);
        Assert.Contains("modprobe xhci_pci", line);
        var json = Run(empty, "list", "--json");
        Assert.Equal("[]", json.Out.Trim());
        Assert.Contains("No USB devices", json.Err);
    }

    [Fact]
    public void Stray_words_are_usage_errors()
    {
        var (exit, _, error) = Run(SysfsFixture.Root, "list", "2-1");
        Assert.Equal(2, exit);
        Assert.Contains("unexpected argument '2-1'", error);
        Assert.Equal(2, Run(SysfsFixture.Root, "list", "--tree").Exit);
    }
}
