using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using UsbRedir.Sessions;
using UsbRedir.Tests.Qemu;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Usbredirect;
using UsbRedir.Transport;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// Isochronous transfers both ways through our exporter (<see cref="Devices.Local.LocalUsbDevice"/> over libusb) with a
/// real peer, qemu's usb-redir, in one guest boot (tests/vm/scenarios/local-device-iso.sh): qemu's usb-audio (iso OUT)
/// exported to usb-redir, where Linux plays a known signal into it; and iso IN and OUT: <see cref="IsoTestDevice"/>, pushed
/// from here into a usb-redir of the guest, exported by us from there to another usb-redir and driven by a libusb program.
/// qemu 7.2's usb-audio is playback only (hw/usb/dev-audio.c: one interface with an iso OUT endpoint), and dummy_hcd fails
/// every iso transfer, so the iso IN device is ours, behind qemu. The exports' streams leave the guest through
/// virtio-serial ports, which this test bridges to the usb-redir chardevs on host loopback.
/// </summary>
public sealed class LocalDeviceIsoVmTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardevs listen on fixed ports).</summary>
    private const int FirstPort = 47900, LastPort = 47924;

    /// <summary>The first OUT number of the guest's warm-up run of the iso client; the counted run's numbers start at 0.</summary>
    private const int WarmUpFirst = 1_000_000;

    private static readonly Lazy<Run> GuestRun = new(() => RunInGuestAsync().GetAwaiter().GetResult());

    private sealed record Run(GuestRunResult Result, string Wav, IReadOnlyList<byte[]> IsoReceived, string IsoSourceLog);

    private static async Task<Run> RunInGuestAsync()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-local-iso-").FullName;
        var wav = Path.Combine(shared, "out.wav");
        var signal = UsbredirectIsoTests.WriteSignal(shared);
        var vportNames = new[] { "audio", "iso" };
        var vports = vportNames.Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var vport in vports)
            vport.Start();
        string[] command = ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "local-device-iso.sh"), shared,
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), NativeHarness.Build("libusb_iso_client.c", "libusb-1.0"),
            signal, wav, $"{UsbredirectIsoTests.SignalPackets}", $"{UsbredirectIsoTests.LongestGap}", $"{UsbredirectIsoTests.Step}",
            $"{UsbredirectIsoTests.Amplitude}", $"{QemuIsoPeerTests.InPackets}", $"{QemuIsoPeerTests.OutPackets}", $"{QemuIsoPeerTests.OutFlush}",
            $"{WarmUpFirst}"];
        try
        {
            // usb-redir chardevs: [0] where this test pushes the iso test device, [1..] carry the guest's virtio-serial ports.
            var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), 1 + vports.Length, (ports, tag) =>
            {
                var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8) };
                options.ReadWriteDirs.Add(shared);
                options.Modules.Add("xhci_pci");
                options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
                options.QemuArgs.AddRange([
                    // The originals on one controller, the copies (the usb-redirs our exporter feeds) on another: Linux changes an
                    // interface's alternate setting holding its host controller's bandwidth mutex (usb_set_interface), so a copy's
                    // SET_INTERFACE on the originals' controller blocks our exporter's SET_INTERFACE on the original until the
                    // copy's times out (5 s). Through a network, or into vhci, the two sides never share a controller.
                    "-device", "qemu-xhci,id=xhci",
                    "-device", "qemu-xhci,id=copies",
                    .. UsbredirectIsoTests.UsbAudio(wav),
                    "-chardev", $"socket,id=isosrc-{tag},host=127.0.0.1,port={ports[0]},server=on,wait=off",
                    "-device", $"usb-redir,chardev=isosrc-{tag},bus=xhci.0",
                ]);
                for (var i = 0; i < vports.Length; i++)
                {
                    options.QemuArgs.AddRange([
                        "-chardev", $"socket,id={vportNames[i]}-{tag},host=127.0.0.1,port={ports[1 + i]},server=on,wait=off",
                        "-device", $"usb-redir,chardev={vportNames[i]}-{tag},bus=copies.0",
                    ]);
                    options.SerialClients.Add((((IPEndPoint)vports[i].LocalEndpoint).Port, vportNames[i]));
                }
                return GuestVm.RunAsync(command, options);
            });
            using var stop = new CancellationTokenSource();
            var bridges = Task.WhenAll(vports.Select((vport, i) => LocalDeviceVmTests.BridgeAsync(vport, ports[1 + i], stop.Token)));
            await using var device = new IsoTestDevice();
            var log = new ConcurrentQueue<SessionLogEntry>();
            var connection = await UsbRedirConnection.ConnectAsync(device, new UsbRedirEndpoint("127.0.0.1", ports[0]), logListener: log.Enqueue);
            // The device's record is read once the guest is done with it (or the guest ended).
            await LocalDeviceVmTests.WaitForFileAsync(shared, "iso-done", guest);
            var received = device.Received;
            var result = await guest;
            await connection.DisconnectAsync(TimeSpan.FromSeconds(2));
            stop.Cancel();
            await bridges;
            return new Run(result, wav, received, string.Join("\n", log));
        }
        finally
        {
            foreach (var vport in vports)
                vport.Dispose();
        }
    }

    private void AssertPassed(params string[] names) => GuestScenarioResults.AssertPassed(GuestRun.Value.Result, output, names);

    /// <summary>
    /// usb-audio exported to qemu's usb-redir: snd-usb-audio plays the known signal into the copy, and our exporter's iso OUT
    /// transfers carry it to the original, whose wav audiodev file holds it in order, packet by packet, with no run of
    /// missing packets longer than the buffers' overflow policy allows (as in <see cref="UsbredirectIsoTests"/>); when the
    /// export ends the copy goes away and snd-usb-audio binds the original again.
    /// </summary>
    [IsoExportVmFact]
    public void Linux_plays_a_known_signal_through_our_exporter_into_qemus_usb_audio()
    {
        AssertPassed("audio.original-snd-usb-audio-bound", "audio.copy-card", "audio.aplay-played", "audio.wav-settled",
            "audio.iso-stream-through-the-exporter", "audio.copy-gone", "audio.original-snd-usb-audio-reattached", "audio.every-transfer-completed",
            "audio.drivers-reattached-without-complaint");
        var recorded = UsbredirectIsoTests.Recorded.Read(GuestRun.Value.Wav, output);
        Assert.True(recorded.Complete >= UsbredirectIsoTests.SignalPackets / 2,
            $"only {recorded.Complete} of {UsbredirectIsoTests.SignalPackets} packets reached the wav file whole");
        recorded.AssertGapsAtMost(UsbredirectIsoTests.LongestGap);
    }

    /// <summary>
    /// Iso both ways through our exporter: every IN packet the libusb program got on the copy was the device's packet with its
    /// number, pattern and length, numbers only rose and at most a tenth were skipped (the program counts); the OUT packets
    /// the program numbered reached the device in order, byte for byte, at most a tenth missing (the device's own record).
    /// </summary>
    [IsoExportVmFact]
    public void Iso_in_and_out_pass_through_our_exporter_intact()
    {
        AssertPassed("iso.copy-configured", "iso.client-ran", "iso.copy-gone", "iso.every-transfer-completed");
        var stdout = GuestRun.Value.Result.Stdout;
        // The counted run's summary (the warm-up run's lines say "iso warm-up client").
        var inLine = stdout.Split('\n').Where(l => l.StartsWith("INFO iso client: ", StringComparison.Ordinal))
            .Select(l => QemuIsoPeerTests.InSummary().Match(l)).FirstOrDefault(m => m.Success);
        Assert.True(inLine is not null, stdout);
        output.WriteLine(inLine.Value);
        Assert.True(int.Parse(inLine.Groups["data"].Value) >= QemuIsoPeerTests.InPackets, inLine.Value);
        Assert.Equal("0", inLine.Groups["bad"].Value);
        Assert.True(int.Parse(inLine.Groups["gaps"].Value) <= QemuIsoPeerTests.MaxInGaps, $"{inLine.Value}: more than {QemuIsoPeerTests.MaxInGaps} IN packets skipped");
        Assert.Matches(@"INFO iso client: OUT: sent=\d+ completed=\d+ errors=0 ", stdout);

        // Every packet the device played is intact, the warm-up's too; the counted run's came in order, none twice.
        var all = GuestRun.Value.IsoReceived;
        Assert.All(all, p => Assert.Equal(QemuIsoPeerTests.OutPacket(BinaryPrimitives.ReadInt32LittleEndian(p)), p));
        var numbers = all.Select(p => BinaryPrimitives.ReadInt32LittleEndian(p)).Where(n => n < WarmUpFirst).ToArray();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Length, numbers.Distinct().Count());
        var missing = QemuIsoPeerTests.OutPackets - numbers.Count(n => n < QemuIsoPeerTests.OutPackets);
        output.WriteLine($"OUT: device played {numbers.Length} packets of the counted run ({all.Count - numbers.Length} of the warm-up), " +
            $"{missing} of the counted {QemuIsoPeerTests.OutPackets} missing");
        output.WriteLine("--- iso source session ---\n" + GuestRun.Value.IsoSourceLog);
        Assert.True(missing <= QemuIsoPeerTests.MaxOutMissing,
            $"{missing} of the first {QemuIsoPeerTests.OutPackets} OUT packets never reached the device (at most {QemuIsoPeerTests.MaxOutMissing} may)");
    }

    /// <summary>No hung task (hung_task_timeout_secs is 10 in the guest), no kernel problem, every check passed.</summary>
    [IsoExportVmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log() =>
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value.Result, output);
}

/// <summary>A <see cref="LibusbVmFactAttribute"/> (the iso client) that also needs socat (the guest's bridges) and aplay (alsa-utils).</summary>
public sealed class IsoExportVmFactAttribute : FactAttribute
{
    public IsoExportVmFactAttribute()
    {
        var missing = LibusbVmFactAttribute.Missing()
            .Concat(new[] { Peers.HasCommand("socat") ? null : "socat", Peers.HasCommand("aplay") ? null : "alsa-utils" }.OfType<string>())
            .ToArray();
        Skip = Peers.SkipUnless(missing.Length == 0, string.Join(", ", missing));
    }
}
