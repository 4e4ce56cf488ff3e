using UsbRedir.Controllers.Usbip;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;

namespace UsbRedir.Tests.Controllers.Usbip;

/// <summary>vhci_hcd's sysfs files, on a fake tree shaped like Linux 6.1's (the VM tests use the real one).</summary>
public sealed class VhciHcdSysfsTests : IDisposable
{
    // As vhci_sysfs.c prints it: a header, then the hs ports and the ss ports of one controller; port 1 in use.
    private const string Status0 =
        "hub port sta spd dev      sockfd local_busid\n" +
        "hs  0000 004 000 00000000 000000 0-0\n" +
        "hs  0001 006 003 00010002 000003 3-1\n" +
        "ss  0002 004 000 00000000 000000 0-0\n" +
        "ss  0003 004 000 00000000 000000 0-0\n";

    // A controller whose HCD is not ready yet prints NOTASSIGNED rows with a 16-digit sockfd field.
    private const string Status1NotReady =
        "hub port sta spd dev      sockfd local_busid\n" +
        "hs  0004 005 000 00000000 0000000000000000 0-0\n" +
        "ss  0006 005 000 00000000 0000000000000000 0-0\n";

    private readonly string _root = Directory.CreateTempSubdirectory("usbredir-vhcisysfs-").FullName;
    private readonly string _controller;

    public VhciHcdSysfsTests()
    {
        _controller = Directory.CreateDirectory(Path.Combine(_root, "vhci_hcd.0")).FullName;
        File.WriteAllText(Path.Combine(_controller, "status"), Status0);
        File.WriteAllText(Path.Combine(_controller, "status.1"), Status1NotReady);
        File.WriteAllText(Path.Combine(_controller, "attach"), "");
        File.WriteAllText(Path.Combine(_controller, "detach"), "");
        File.WriteAllText(Path.Combine(_controller, "nports"), "8\n");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Status_rows_of_every_controller_are_parsed()
    {
        var ports = new VhciHcdSysfs(_root).ReadPorts();
        Assert.Equal([0, 1, 2, 3, 4, 6], ports.Select(p => p.Port));
        Assert.Equal(new VhciHcdPort(VhciHcdHub.HighSpeed, 1, VhciHcdPortState.Used, 3, 0x00010002, 3, "3-1"), ports[1]);
        Assert.Equal([true, false, true, true, false, false], ports.Select(p => p.IsFree));
        Assert.Equal(VhciHcdHub.SuperSpeed, ports[5].Hub);
        Assert.Equal(VhciHcdPortState.NotAssigned, ports[5].State);
    }

    [Fact]
    public void Pre_4_14_rows_and_garbage_are_not_taken_for_ports()
    {
        // Old kernels: "prt sta spd bus dev socket local_busid" with a pointer and no hub column.
        var old = "prt sta spd bus dev socket           local_busid\n000 004 000 000 000 0000000000000000 0-0\n";
        Assert.Empty(VhciHcdPort.ParseStatus(old));
        Assert.Empty(VhciHcdPort.ParseStatus("hs  zzzz 004 000 00000000 000000 0-0\n\n"));
    }

    [Fact]
    public void Attach_writes_port_fd_devid_and_the_kernel_speed_code()
    {
        var sysfs = new VhciHcdSysfs(_root);
        Assert.True(sysfs.TryAttach(2, 17, 0x10002, UsbSpeed.Super));
        Assert.Equal("2 17 65538 5", File.ReadAllText(sysfs.AttachPath));
        Assert.True(sysfs.TryDetach(2));
        Assert.Equal("2", File.ReadAllText(sysfs.DetachPath));
        Assert.Equal([1, 2, 3, 5], new[] { UsbSpeed.Low, UsbSpeed.Full, UsbSpeed.High, UsbSpeed.Super }.Select(VhciHcdSysfs.WireSpeed));
        Assert.Equal(VhciHcdHub.HighSpeed, VhciHcdSysfs.HubFor(UsbSpeed.High));
        Assert.Equal(VhciHcdHub.SuperSpeed, VhciHcdSysfs.HubFor(UsbSpeed.Super));
    }

    [Fact]
    public async Task Plug_takes_the_first_free_port_of_the_devices_hub()
    {
        var controller = UsbipController.Open(new UsbipControllerOptions { PlatformDirectory = _root, LoadModule = false });
        await using var keyboard = VirtualDevices.CreateKeyboard(UsbSpeed.Full);
        await using var attachment = controller.Plug(keyboard);
        Assert.Equal((0, VhciHcdHub.HighSpeed), (attachment.Port, attachment.Hub));
        var written = File.ReadAllText(controller.Sysfs.AttachPath).Split(' ');
        Assert.Equal(("0", "2"), (written[0], written[3]));
        // Nobody holds the kernel's end here (a plain file took the write), so the link sees end of stream at once.
        Assert.Equal("the USB/IP client closed the connection", await attachment.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task No_free_port_on_the_hub_is_a_resource_busy_error_naming_the_fix()
    {
        File.WriteAllText(Path.Combine(_controller, "status"), Status0.Replace("hs  0000 004", "hs  0000 006"));
        var controller = UsbipController.Open(new UsbipControllerOptions { PlatformDirectory = _root, LoadModule = false });
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var e = Assert.Throws<UsbRedirException>(() => controller.Plug(keyboard));
        Assert.Equal(("VhciHcdNoFreePort", UsbRedirErrorCategory.ResourceBusy), (e.ErrorId, e.Category));
        Assert.Contains("USB 2.0 (hs) port", e.Message);
        Assert.Contains("usbip detach", e.RecommendedAction);
    }

    [Fact]
    public void A_missing_module_that_may_not_be_loaded_says_how_to_load_it()
    {
        var e = Assert.Throws<UsbRedirException>(() =>
            UsbipController.Open(new UsbipControllerOptions { PlatformDirectory = Path.Combine(_root, "nothing"), LoadModule = false }));
        Assert.Equal(("VhciHcdNotLoaded", UsbRedirErrorCategory.NotInstalled), (e.ErrorId, e.Category));
        Assert.Contains("modprobe vhci-hcd", e.RecommendedAction);
    }
}
