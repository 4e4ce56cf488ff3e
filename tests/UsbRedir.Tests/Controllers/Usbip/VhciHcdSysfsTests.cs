using UsbRedir.Controllers;
using UsbRedir.Controllers.Usbip;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;

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
    private readonly SessionLog _log = new();

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
        await using var controller = await CreateAsync(2);
        await using var keyboard = VirtualDevices.CreateKeyboard(UsbSpeed.Full);
        var slot = await controller.PlugAsync(keyboard);
        // Nobody holds the kernel's end here (a plain file took the write), so the link sees end of stream at once
        // and the slot is given up by itself, maybe before PlugAsync has returned to us: what the slot was attached to
        // is read from the log, not from KernelPortOf, which only knows it while the slot is plugged.
        Assert.Equal(1, slot);
        Assert.Contains(_log.Entries, e => e.Message.EndsWith(" plugged into vhci_hcd port 0 (HighSpeed, speed 2) as slot 1"));
        Assert.Equal(("vhci_hcd.0", ControllerBackend.Usbip), (controller.Name, controller.Backend));
        var written = File.ReadAllText(Path.Combine(_controller, "attach")).Split(' ');
        Assert.Equal(("0", "2"), (written[0], written[3]));
        await Eventually.TrueAsync(() => controller.GetPort(slot).State == VirtualPortState.Free, "the slot whose link ended is free");
        Assert.Null(controller.KernelPortOf(slot));
        Assert.Null(controller.LinkOf(slot));
        Assert.Contains(_log.Entries, e => e.Message == "usbip: slot 1 lost its vhci_hcd port: the USB/IP client closed the connection");
        // The link had ended, so the kernel port (maybe reused by now) was not detached.
        Assert.Equal("", File.ReadAllText(Path.Combine(_controller, "detach")));
    }

    [Fact]
    public async Task No_free_port_on_the_hub_is_a_resource_busy_error_naming_the_fix()
    {
        File.WriteAllText(Path.Combine(_controller, "status"), Status0.Replace("hs  0000 004", "hs  0000 006"));
        await using var controller = await CreateAsync(2);
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugAsync(keyboard));
        Assert.Equal(("VhciHcdNoFreePort", UsbRedirErrorCategory.ResourceBusy), (e.ErrorId, e.Category));
        Assert.Contains("USB 2.0 (hs) port", e.Message);
        Assert.Contains("usbip detach", e.RecommendedAction);
        Assert.Equal(VirtualPortState.Free, controller.GetPort(1).State);
    }

    [Fact]
    public async Task A_missing_module_that_may_not_be_loaded_says_how_to_load_it()
    {
        var factory = new VirtualHostControllerFactory(
            [new UsbipBackend { PlatformDirectory = Path.Combine(_root, "nothing"), LoadModule = false }], () => false);
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => factory.CreateAsync(1));
        Assert.Equal(("UsbipModuleMissing", UsbRedirErrorCategory.NotInstalled), (e.ErrorId, e.Category));
        Assert.Contains("modprobe vhci-hcd", e.RecommendedAction);
    }

    private async Task<UsbipController> CreateAsync(int ports)
    {
        var factory = new VirtualHostControllerFactory([new UsbipBackend { PlatformDirectory = _root, LoadModule = false, Log = _log }], () => false);
        return Assert.IsType<UsbipController>(await factory.CreateAsync(ports));
    }
}

/// <summary>Loading vhci-hcd: what modprobe's failures turn into (a stand-in modprobe plays each one).</summary>
public sealed class VhciHcdModuleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("usbredir-vhcimod-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("modprobe: FATAL: Module vhci-hcd not found in directory /lib/modules/6.1.0-57-amd64", "VhciHcdModuleMissing", UsbRedirErrorCategory.NotInstalled, "CONFIG_USBIP_VHCI_HCD")]
    [InlineData("modprobe: ERROR: could not insert 'vhci_hcd': Operation not permitted", "VhciHcdLoadDenied", UsbRedirErrorCategory.PermissionDenied, "sudo modprobe vhci-hcd")]
    [InlineData("modprobe: ERROR: could not insert 'vhci_hcd': Exec format error", "VhciHcdLoadFailed", UsbRedirErrorCategory.DeviceError, "dmesg")]
    public void A_failed_modprobe_names_the_cause_and_the_fix(string stderr, string errorId, UsbRedirErrorCategory category, string fix)
    {
        var modprobe = FakeModprobe($"echo \"{stderr}\" >&2; exit 1");
        var e = Assert.Throws<UsbRedirException>(() => VhciHcdModule.EnsureLoaded(new VhciHcdSysfs(_root), true, modprobe, isRoot: true));
        Assert.Equal((errorId, category), (e.ErrorId, e.Category));
        Assert.Contains(fix, e.RecommendedAction);
    }

    [Fact]
    public void A_successful_modprobe_is_waited_for_and_not_root_is_refused_before_trying()
    {
        // The stand-in "loads the module" by creating vhci_hcd.0's attach file, as module init does.
        var modprobe = FakeModprobe($"[ \"$1\" = vhci-hcd ] && mkdir -p {_root}/vhci_hcd.0 && touch {_root}/vhci_hcd.0/attach");
        var sysfs = new VhciHcdSysfs(_root);
        var e = Assert.Throws<UsbRedirException>(() => VhciHcdModule.EnsureLoaded(sysfs, true, modprobe, isRoot: false));
        Assert.Equal("VhciHcdLoadDenied", e.ErrorId);
        Assert.False(sysfs.IsPresent);

        VhciHcdModule.EnsureLoaded(sysfs, true, modprobe, isRoot: true);
        Assert.True(sysfs.IsPresent);
    }

    private string FakeModprobe(string body)
    {
        var path = Path.Combine(_root, "modprobe");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        ProcessRunner.Run("chmod", "+x", path);
        return path;
    }
}
