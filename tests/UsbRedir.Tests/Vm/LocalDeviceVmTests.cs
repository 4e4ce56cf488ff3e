using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UsbRedir.Tests.Qemu;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Usbredirect;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// Real devices through <see cref="Devices.Local.LocalUsbDevice"/>, in one guest boot (tests/vm/scenarios/local-device.sh):
/// the built CLI exports the guest's qemu usb-storage to the same VM's usb-redir (the stream leaves the guest through a
/// virtio-serial port, and this test bridges it to qemu's usb-redir chardev on host loopback), plugs it locally into
/// vhci_hcd and usbredir_vhci, and usbredirect exports it to a second usb-redir as the reference. Every path must read the
/// same bytes, a file written through usb-redir must land in the original's image, usb-storage must bind to the original
/// again after each export, and permission and "in use" errors must say so. The faults have their own boot
/// (<see cref="LocalDeviceFaultVmTests"/>).
/// </summary>
public sealed partial class LocalDeviceVmTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardevs listen on fixed ports).</summary>
    private const int FirstPort = 47700, LastPort = 47749;

    private const string Written = "written through usbredir connect and qemu usb-redir\n";

    private static readonly Lazy<Run> GuestRun = new(() => RunInGuestAsync().GetAwaiter().GetResult());

    private sealed record Run(GuestRunResult Result, string Image);

    private static async Task<Run> RunInGuestAsync()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-local-device-").FullName;
        var known = RandomNumberGenerator.GetBytes(1_000_000);
        var image = Ext2Image.Create(shared, "stick.img", "16M", ("known.bin", known));
        var module = VhciModuleBuild.Module;
        var qmpPath = Path.Combine(shared, "qmp.sock");
        var vports = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var vport in vports)
            vport.Start();
        string[] command = ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "local-device.sh"), shared,
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), Convert.ToHexString(MD5.HashData(known)).ToLowerInvariant(), module];
        try
        {
            var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), vports.Length, (ports, tag) =>
            {
                var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8) };
                options.ReadWriteDirs.Add(shared);
                options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod", "usbhid", "hid_generic", "evdev"]);
                options.QemuArgs.AddRange([
                    // Enough root ports for all six devices: with qemu's default four it adds a USB 2 hub, and a SuperSpeed device
                    // redirected behind it enumerates the USB 2 way, with a second reset (usbredirect then resets the
                    // original during the guest's enumeration, and both wait for each other until timeouts).
                    "-device", "qemu-xhci,id=xhci,p2=8,p3=8",
                    "-drive", $"if=none,id=stick,format=raw,file={image}",
                    "-device", "usb-storage,bus=xhci.0,drive=stick,id=stick-dev",
                    "-device", "usb-kbd,bus=xhci.0,id=kbd",
                    .. QmpClient.QemuArgs(qmpPath),
                ]);
                // usb-redir i carries what the guest sends into virtio-serial port redir{i}, through BridgeAsync.
                for (var i = 0; i < ports.Length; i++)
                {
                    options.QemuArgs.AddRange([
                        "-chardev", $"socket,id=redir{i + 1}-{tag},host=127.0.0.1,port={ports[i]},server=on,wait=off",
                        "-device", $"usb-redir,chardev=redir{i + 1}-{tag},bus=xhci.0,id=redir{i + 1}-dev",
                    ]);
                    options.SerialClients.Add((((IPEndPoint)vports[i].LocalEndpoint).Port, $"redir{i + 1}"));
                }
                return GuestVm.RunAsync(command, options);
            });
            using var stop = new CancellationTokenSource();
            var bridges = Task.WhenAll(vports.Select((vport, i) => BridgeAsync(vport, ports[i], stop.Token)));
            var monitor = MonitorAsync(shared, qmpPath, guest);
            var result = await guest;
            stop.Cancel();
            await bridges;
            var actions = await monitor;
            return new Run(result with { Stdout = result.Stdout + actions }, image);
        }
        finally
        {
            foreach (var vport in vports)
                vport.Dispose();
        }
    }

    /// <summary>
    /// What the host does to the guest's hardware when the scenario asks (a file in the shared folder): removes the
    /// usb-redir usbredirect exported to once it is done, types "usb" and Enter into the original usb-kbd with QMP
    /// send-key.
    /// Returns INFO lines for the run's output.
    /// </summary>
    private static async Task<string> MonitorAsync(string shared, string qmpPath, Task guest)
    {
        var log = new System.Text.StringBuilder();
        await using var qmp = await QmpClient.ConnectAsync(qmpPath, guest);
        Task<bool> WaitForAsync(string file) => WaitForFileAsync(shared, file, guest);
        if (await WaitForAsync("usbredirect-done"))
        {
            await qmp.ExecuteAsync("device_del", new { id = "redir2-dev" });
            log.AppendLine("INFO host: device_del redir2-dev (usbredirect's usb-redir)");
        }
        if (await WaitForAsync("keyboard-listening"))
        {
            foreach (var key in new[] { "u", "s", "b", "ret" })
                await qmp.ExecuteAsync("send-key", new { keys = new[] { new { type = "qcode", data = key } } });
            log.AppendLine("INFO host: sent keys u s b ret through QMP send-key");
        }
        return log.ToString();
    }

    /// <summary>True once the guest scenario created <paramref name="file"/> in <paramref name="shared"/>; false if the guest ended first.</summary>
    internal static async Task<bool> WaitForFileAsync(string shared, string file, Task guest)
    {
        while (!File.Exists(Path.Combine(shared, file)))
        {
            if (guest.IsCompleted)
                return false;
            await Task.Delay(100);
        }
        return true;
    }

    /// <summary>
    /// Carries each connection qemu's virtio-serial chardev makes to <paramref name="listener"/> to qemu's usb-redir chardev
    /// on <paramref name="usbRedirPort"/>, both ways, until the guest run ends.
    /// </summary>
    internal static async Task BridgeAsync(TcpListener listener, int usbRedirPort, CancellationToken stop)
    {
        var pipes = new List<Task>();
        try
        {
            while (true)
            {
                var vport = await listener.AcceptSocketAsync(stop);
                var redir = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await redir.ConnectAsync(IPAddress.Loopback, usbRedirPort, stop);
                pipes.Add(PipeAsync(vport, redir, stop));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
            // qemu went away (the guest ended): nothing more to carry.
        }
        await Task.WhenAll(pipes);
    }

    private static async Task PipeAsync(Socket a, Socket b, CancellationToken stop)
    {
        using (a)
        using (b)
        {
            await using var sa = new NetworkStream(a, ownsSocket: false);
            await using var sb = new NetworkStream(b, ownsSocket: false);
            try
            {
                await Task.WhenAny(sa.CopyToAsync(sb, stop), sb.CopyToAsync(sa, stop));
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
            }
        }
    }

    private void AssertPassed(params string[] names) => GuestScenarioResults.AssertPassed(GuestRun.Value.Result, output, names);

    [UsbredirectVmFact]
    public void Exported_to_qemus_usb_redir_the_guest_reads_known_content_and_a_written_file_lands_in_the_original_image()
    {
        AssertPassed("original.bound", "export.disk-appears", "export.known");
        Assert.Equal(Written, Ext2Image.ReadFile(GuestRun.Value.Image, "/from-guest.txt"));
    }

    [UsbredirectVmFact]
    public void Every_path_reads_the_same_bytes_as_the_disk_itself_and_as_usbredirect()
    {
        AssertPassed("export.disk-appears", "plug.usbip.disk-appears", "usbredirect.disk-appears");
        var stdout = GuestRun.Value.Result.Stdout;
        var before = GuestScenarioResults.Md5(stdout, "direct");
        Assert.Equal(before, GuestScenarioResults.Md5(stdout, "usb-redir"));
        // usb-redir wrote a file; everything read afterwards sees it.
        var after = GuestScenarioResults.Md5(stdout, "direct-after");
        Assert.NotEqual(before, after);
        Assert.Equal(after, GuestScenarioResults.Md5(stdout, "usbip"));
        Assert.Equal(after, GuestScenarioResults.Md5(stdout, "usbredirect"));
    }

    [UsbredirectVmFact]
    public void Usb_storage_binds_to_the_original_again_after_each_export_and_forward() =>
        AssertPassed("export.disk-gone", "export.storage-reattached", "plug.usbip.disk-gone", "plug.usbip.storage-reattached");

    /// <summary>usbredir_vhci is USB 2.0 only: it refuses the SuperSpeed disk clearly, and takes the full-speed keyboard.</summary>
    [UsbredirectVmFact]
    public void The_keyboard_forwarded_into_usbredir_vhci_gets_usbhid_which_returns_to_the_original_afterwards() =>
        AssertPassed("plug.vhci-ctrl.superspeed-refused", "plug.vhci-ctrl.storage-reattached", "plug.vhci-ctrl.keyboard-usbhid-bound",
            "plug.vhci-ctrl.keyboard-gone", "plug.vhci-ctrl.usbhid-reattached");

    [UsbredirectVmFact]
    public void Permission_denied_and_a_second_exporter_get_clear_errors() =>
        AssertPassed("errors.permission-denied", "errors.second-exporter-in-use");

    [UsbredirectVmFact]
    public void Keys_typed_into_the_original_keyboard_arrive_through_usb_redir_and_usbhid_binds_again_afterwards() =>
        AssertPassed("keyboard.keys-arrive", "keyboard.usbhid-reattached");

    [UsbredirectVmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log() =>
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value.Result, output);
}
