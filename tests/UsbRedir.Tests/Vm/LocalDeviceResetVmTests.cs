using System.Collections.Concurrent;
using UsbRedir.Sessions;
using UsbRedir.Tests.Qemu;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// A reset that brings a real device back as another device, through our exporter (<see cref="Devices.Local.LocalUsbDevice"/>
/// over libusb), in one guest boot (tests/vm/scenarios/local-device-reset.sh): <see cref="DfuTestDevice"/>, pushed from
/// here into a usb-redir of the guest, is a USB device of the guest's kernel; our exporter exports it with --listen to the
/// scripted usb-guest (tests/interop/usbredir_guest_peer.c, Debian's libusbredirparser), which sends DFU_DETACH and a reset
/// (tests/vm/scenarios/local-device-reset/dfu.steps). The device comes back in DFU mode with another product id; the guest's
/// kernel enumerates it anew (new device number and usbfs node), libusb's reset answers NOT_FOUND, and the exporter opens
/// the device again at its port, sends the peer its new interfaces and endpoints, and goes on serving the same peer.
/// </summary>
public sealed class LocalDeviceResetVmTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardev listens on a fixed port).</summary>
    private const int FirstPort = 47600, LastPort = 47649;

    private static readonly Lazy<Run> GuestRun = new(() => RunInGuestAsync().GetAwaiter().GetResult());

    private sealed record Run(GuestRunResult Result, Dictionary<string, List<string>> Transcript, byte FinalState, string SourceLog);

    private static async Task<Run> RunInGuestAsync()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-local-reset-").FullName;
        var peer = NativeHarness.Build("usbredir_guest_peer.c", "libusbredirparser-0.5");
        string[] command = ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "local-device-reset.sh"), shared,
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), peer];
        var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), 1, (ports, tag) =>
        {
            var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(6) };
            options.ReadWriteDirs.Add(shared);
            options.Modules.Add("xhci_pci");
            options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
            options.QemuArgs.AddRange([
                "-device", "qemu-xhci,id=xhci",
                "-chardev", $"socket,id=dfu-{tag},host=127.0.0.1,port={ports[0]},server=on,wait=off",
                "-device", $"usb-redir,chardev=dfu-{tag},bus=xhci.0",
            ]);
            return GuestVm.RunAsync(command, options);
        });
        await using var device = new DfuTestDevice();
        var log = new ConcurrentQueue<SessionLogEntry>();
        var connection = await UsbRedirConnection.ConnectAsync(device, new UsbRedirEndpoint("127.0.0.1", ports[0]), logListener: log.Enqueue);
        var result = await guest;
        await connection.DisconnectAsync(TimeSpan.FromSeconds(2));
        var transcript = Path.Combine(shared, "dfu.txt");
        return new Run(result, File.Exists(transcript) ? GuestPeerTranscript.Read(transcript) : [], device.State, string.Join("\n", log));
    }

    private List<string> Step(string name)
    {
        var run = GuestRun.Value;
        Assert.True(run.Transcript.TryGetValue(name, out var lines),
            $"the peer printed nothing for step {name}:\n{run.Result}\n--- the device's session here ---\n{run.SourceLog}");
        return lines;
    }

    /// <summary>"length:hash:first 16 bytes" as the peer prints data, for these bytes.</summary>
    private static string Data(ReadOnlySpan<byte> bytes) =>
        $"data={bytes.Length}:{GuestPeerTranscript.Fnv1a(bytes):x8}:{Convert.ToHexStringLower(bytes[..Math.Min(16, bytes.Length)])}";

    /// <summary>
    /// Before the reset the peer sees the run-time device: its announcement and device descriptor say 1209:000e, and
    /// DFU_GETSTATUS answers appIDLE, then appDETACH once DFU_DETACH was taken.
    /// </summary>
    [UsbredirhostVmFact]
    public void Before_the_reset_the_peer_sees_the_run_time_device()
    {
        Assert.Contains(Step("announce"), l => l.StartsWith("device_connect ", StringComparison.Ordinal) &&
            l.Contains($"id={DfuTestDevice.VendorId:x4}:{DfuTestDevice.RuntimeProductId:x4}", StringComparison.Ordinal));
        var runtime = DfuTestDevice.ModeDescriptors(dfuMode: false).Device.Span;
        Assert.Contains($"control_packet #1 success ep=80 length=18 {Data(runtime)} setup=80/06/0100/0000", Step("device-descriptor"));
        Assert.Contains($"control_packet #1 success ep=80 length=6 {Data([0, 0, 0, 0, DfuTestDevice.AppIdle, 0])} setup=a1/03/0000/0000", Step("get-status"));
        Assert.Contains("control_packet #1 success ep=00 length=0 data=0:811c9dc5: setup=21/00/03e8/0000", Step("detach"));
        Assert.Contains($"control_packet #1 success ep=80 length=6 {Data([0, 0, 0, 0, DfuTestDevice.AppDetach, 0])} setup=a1/03/0000/0000", Step("get-status-after-detach"));
    }

    /// <summary>
    /// After the reset the same connection serves the device that came back: the peer got the new device's interface
    /// (FE/01/02) and endpoints, its device descriptor is the DFU-mode one (1209:000f, built here), set_configuration works,
    /// and DFU_GETSTATUS answers dfuIDLE; the device here is in DFU mode.
    /// </summary>
    [UsbredirhostVmFact]
    public void After_the_reset_the_same_connection_serves_the_device_in_dfu_mode()
    {
        var run = GuestRun.Value;
        Assert.Equal(DfuTestDevice.DfuIdle, run.FinalState);
        Assert.DoesNotContain(Step("reset"), l => l == "closed");
        var descriptor = DfuTestDevice.ModeDescriptors(dfuMode: true).Device.Span;
        Assert.Contains($"control_packet #1 success ep=80 length=18 {Data(descriptor)} setup=80/06/0100/0000", Step("after-reset-device-descriptor"));
        // No device_disconnect (the peer's own reset is what finds the new device), but its interfaces and endpoints.
        var reset = Step("reset");
        Assert.DoesNotContain("device_disconnect", reset);
        Assert.Contains("interface_info if=0 class=fe/01/02", reset);
        Assert.Contains("ep_info", reset);
        Assert.Contains("configuration_status #1 success config=1", Step("after-reset-set-configuration"));
        Assert.Contains($"control_packet #1 success ep=80 length=6 {Data([0, 0, 0, 0, DfuTestDevice.DfuIdle, 0])} setup=a1/03/0000/0000", Step("after-reset-get-status"));
    }

    /// <summary>
    /// In the guest: the DFU-mode device replaced the run-time one, the exporter said it opened the device again (and
    /// never that it was gone), SIGTERM ended it with exit code 0, and the kernel log is clean.
    /// </summary>
    [UsbredirhostVmFact]
    public void The_exporter_opens_the_device_again_and_the_guest_run_is_clean()
    {
        GuestScenarioResults.AssertPassed(GuestRun.Value.Result, output, "dfu.runtime-device-enumerated", "export.listening",
            "dfu.mode-device-enumerated", "dfu.runtime-device-gone", "export.opened-it-again", "export.not-gone", "export.sigterm-exit-0");
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value.Result, output);
    }
}
