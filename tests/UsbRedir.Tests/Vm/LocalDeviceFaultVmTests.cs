using System.Security.Cryptography;
using UsbRedir.Tests.Qemu;
using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// Faults around a real device exported through <see cref="Devices.Local.LocalUsbDevice"/>, in one guest boot
/// (tests/vm/scenarios/local-device-faults.sh): the built CLI exports the guest's qemu usb-storage to our server in the
/// same guest (usbip backend, the kernel's vhci_hcd drives the forwarded disk). A libusb program on the forwarded disk
/// sends control transfers with odd lengths and provokes a control stall and a bulk stall with its clear-halt; the server
/// is killed mid-read and a new one started; the host removes the original mid-read (QMP device_del) and the export waits
/// for it; a disk added at another port (another device) is not taken; the disk added back at its port is exported again
/// by itself within 5 s (auto re-attach, as <c>usbredir connect ID</c> does through LocalUsbDeviceSource).
/// </summary>
public sealed class LocalDeviceFaultVmTests(ITestOutputHelper output)
{
    private static readonly Lazy<GuestRunResult> GuestRun = new(() => RunInGuestAsync().GetAwaiter().GetResult());

    private static async Task<GuestRunResult> RunInGuestAsync()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-local-faults-").FullName;
        var image = Ext2Image.Create(shared, "stick.img", "4M", ("known.bin", RandomNumberGenerator.GetBytes(1_000_000)));
        var qmpPath = Path.Combine(shared, "qmp.sock");
        // Every whole-disk md5 reads the image through the chain under TCG: 4 MiB keeps that short.
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(10) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod"]);
        options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
        options.QemuArgs.AddRange([
            "-device", "qemu-xhci,id=xhci,p2=4,p3=4",
            // -blockdev, not -drive: a -drive's backend is deleted with its device, and the host adds the disk again.
            "-blockdev", $"driver=raw,node-name=stick,file.driver=file,file.filename={image}",
            "-device", "usb-storage,bus=xhci.0,drive=stick,id=stick-dev,port=1",
            .. QmpClient.QemuArgs(qmpPath),
        ]);
        string[] command = ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "local-device-faults.sh"), shared,
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), NativeHarness.Build("libusb_msd_faults.c", "libusb-1.0")];
        var guest = GuestVm.RunAsync(command, options);
        var actions = await UnplugAndPlugInAsync(shared, qmpPath, guest);
        var result = await guest;
        return result with { Stdout = result.Stdout + actions };
    }

    /// <summary>
    /// What the host does to the guest's hardware when the scenario asks (a file in the shared folder): removes the original
    /// usb-storage with device_del; adds the disk again without a port (QEMU takes the next free port and makes the serial
    /// number from it: another device) and removes it; then adds it back at its own port. Returns INFO lines for the run's output.
    /// </summary>
    private static async Task<string> UnplugAndPlugInAsync(string shared, string qmpPath, Task guest)
    {
        var log = new System.Text.StringBuilder();
        await using var qmp = await QmpClient.ConnectAsync(qmpPath, guest);
        async Task OnRequestAsync(string file, string command, object arguments)
        {
            if (!await LocalDeviceVmTests.WaitForFileAsync(shared, file, guest))
                return;
            await qmp.ExecuteAsync(command, arguments);
            log.AppendLine($"INFO host: {command} {System.Text.Json.JsonSerializer.Serialize(arguments)}");
        }
        await OnRequestAsync("unplug", "device_del", new { id = "stick-dev" });
        await OnRequestAsync("plug-elsewhere", "device_add", new { driver = "usb-storage", bus = "xhci.0", drive = "stick", id = "stick-dev" });
        await OnRequestAsync("unplug-elsewhere", "device_del", new { id = "stick-dev" });
        await OnRequestAsync("plug-in", "device_add", new { driver = "usb-storage", bus = "xhci.0", drive = "stick", id = "stick-dev", port = "1" });
        return log.ToString();
    }

    private void AssertPassed(params string[] names) => GuestScenarioResults.AssertPassed(GuestRun.Value, output, names);

    [LibusbVmFact]
    public void The_forward_reads_the_same_bytes_as_the_disk_itself()
    {
        AssertPassed("original.bound", "forward.disk-appears");
        Assert.Equal(Md5("direct"), Md5("forwarded"));
    }

    /// <summary>
    /// tests/interop/libusb_msd_faults.c on the forwarded disk: control transfers with odd lengths answer the original's
    /// descriptor bytes, an undefined descriptor type stalls EP0 and the next request works, a bad CBW stalls bulk OUT and
    /// after clear-halt a command and its CSW go through; usb-storage binds to the forwarded disk again afterwards.
    /// </summary>
    [LibusbVmFact]
    public void Odd_length_control_a_control_stall_and_a_bulk_stall_with_clear_halt_reach_the_real_device() =>
        AssertPassed("control.odd-lengths", "control.stall", "control.class-request", "bulk.stall-and-clear-halt", "faults.storage-binds-again");

    /// <summary>
    /// The peer (our server) killed with SIGKILL mid-read: the read ends, the exporter keeps the device claimed and
    /// reconnects, and the next server gets it with the same bytes.
    /// </summary>
    [LibusbVmFact]
    public void The_peer_killed_mid_transfer_leaves_the_device_claimed_and_the_next_peer_gets_it()
    {
        AssertPassed("peer-killed.reader-ends", "peer-killed.exporter-reconnects", "peer-killed.exporter-still-running",
            "peer-killed.storage-stays-claimed", "peer-killed.plugged-into-the-next-peer", "peer-killed.disk-appears");
        Assert.Equal(Md5("direct"), Md5("after-peer-killed"));
    }

    /// <summary>
    /// QMP device_del of the original mid-read: the read through the forward ends, the peer gets device_disconnect and its
    /// disk goes away, every pending transfer completes, and the exporter waits for the device instead of ending; SIGTERM
    /// then ends the waiting exporter with exit code 0.
    /// </summary>
    [LibusbVmFact]
    public void Device_del_mid_transfer_ends_the_read_tells_the_peer_and_the_exporter_waits_for_the_device() =>
        AssertPassed("unplug.reader-ends", "unplug.original-gone", "unplug.redirected-disk-gone", "unplug.peer-gets-device-disconnect",
            "unplug.exporter-waits-for-the-device", "unplug.exporter-still-running", "unplug.every-transfer-completed",
            "end.exporter-stops-cleanly", "end.every-transfer-completed", "end.disk-gone");

    /// <summary>
    /// QMP device_add of the disk without a port while the export waits: QEMU puts it at the next free port with a serial
    /// number made from that port, so it is another device (another busid, another serial) and the export leaves it to
    /// usb-storage, as it would a stranger's stick plugged in meanwhile, and its log says why.
    /// </summary>
    [LibusbVmFact]
    public void A_device_added_at_another_port_with_another_serial_is_not_taken() =>
        AssertPassed("elsewhere.another-port-and-serial", "elsewhere.not-taken", "elsewhere.export-says-why", "elsewhere.gone");

    /// <summary>
    /// QMP device_add of the same disk at its port: the export comes back by itself within 5 s of the guest seeing the device (the
    /// server plugs it again), with the same bytes; SIGTERM then ends the exporter cleanly and usb-storage binds to the
    /// original again.
    /// </summary>
    [LibusbVmFact]
    public void Device_add_again_re_attaches_the_export_within_5_seconds_and_the_end_gives_the_disk_back()
    {
        AssertPassed("reattach.plugged-again", "reattach.within-5-s", "reattach.disk-appears", "end.exporter-stops-cleanly",
            "end.every-transfer-completed", "end.disk-gone", "end.storage-reattached");
        Assert.Equal(Md5("direct"), Md5("reattached"));
    }

    /// <summary>No hung task (hung_task_timeout_secs is 10 in the guest), no kernel problem, every check passed.</summary>
    [LibusbVmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log() =>
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value, output);

    private static string Md5(string path) => GuestScenarioResults.Md5(GuestRun.Value.Stdout, path);
}
