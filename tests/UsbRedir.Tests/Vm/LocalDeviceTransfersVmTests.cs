using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using UsbRedir.Sessions;
using UsbRedir.Tests.Qemu;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Usbredirect;
using UsbRedir.Transport;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// The transfer types of real devices that <see cref="LocalDeviceVmTests"/> does not cover, each through our exporter
/// (<see cref="Devices.Local.LocalUsbDevice"/> over libusb) with a real peer, in one guest boot
/// (tests/vm/scenarios/local-device-transfers.sh): a high-speed usb-storage on qemu's EHCI forwarded locally into
/// usbredir_vhci; qemu's SuperSpeed usb-uas exported to qemu's usb-redir on xHCI, where the uas driver drives it with bulk
/// streams; qemu's usb-audio (iso OUT) exported to usb-redir, where Linux plays a known signal into it; and iso IN and OUT
/// both ways: <see cref="IsoTestDevice"/>, pushed from here into a usb-redir of the guest, exported by us from there to
/// another usb-redir and driven by a libusb program. qemu 7.2's usb-audio is playback only (hw/usb/dev-audio.c: one
/// interface with an iso OUT endpoint), and dummy_hcd fails every iso transfer, so the iso IN device is ours, behind qemu.
/// </summary>
public sealed class LocalDeviceTransfersVmTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardevs listen on fixed ports).</summary>
    private const int FirstPort = 47900, LastPort = 47949;

    private const string WrittenThroughUas = "written through the uas driver, qemu usb-redir and usbredir connect\n";

    private static readonly Lazy<Run> GuestRun = new(() => RunInGuestAsync().GetAwaiter().GetResult());

    private sealed record Run(GuestRunResult Result, string UasImage, string Wav, IReadOnlyList<byte[]> IsoReceived, string IsoSourceLog);

    private static async Task<Run> RunInGuestAsync()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-local-transfers-").FullName;
        var hsImage = Ext2Image.Create(shared, "hs.img", "4M", ("known.bin", RandomNumberGenerator.GetBytes(1_000_000)));
        var uasImage = Ext2Image.Create(shared, "uas.img", "4M", ("known.bin", RandomNumberGenerator.GetBytes(1_000_000)));
        var wav = Path.Combine(shared, "out.wav");
        var signal = UsbredirectIsoTests.WriteSignal(shared);
        var vportNames = new[] { "uas", "audio", "iso" };
        var vports = vportNames.Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var vport in vports)
            vport.Start();
        string[] command = ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "local-device-transfers.sh"), shared,
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), VhciModuleBuild.Module, NativeHarness.Build("libusb_iso_client.c", "libusb-1.0"),
            signal, wav, $"{UsbredirectIsoTests.SignalPackets}", $"{UsbredirectIsoTests.LongestGap}", $"{UsbredirectIsoTests.Step}",
            $"{UsbredirectIsoTests.Amplitude}", $"{QemuIsoPeerTests.InPackets}", $"{QemuIsoPeerTests.OutPackets}", $"{QemuIsoPeerTests.OutFlush}"];
        try
        {
            // usb-redir chardevs: [0] where this test pushes the iso test device, [1..] carry the guest's virtio-serial ports.
            var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), 1 + vports.Length, (ports, tag) =>
            {
                var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(10) };
                options.ReadWriteDirs.Add(shared);
                options.Modules.AddRange(["xhci_pci", "ehci_pci", "usb_storage", "uas", "sd_mod"]);
                options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
                options.QemuArgs.AddRange([
                    // Enough root ports of each speed that no hub comes between (see LocalDeviceVmTests).
                    "-device", "qemu-xhci,id=xhci,p2=8,p3=8",
                    "-device", "usb-ehci,id=ehci",
                    "-drive", $"if=none,id=hs,format=raw,file={hsImage}",
                    "-device", "usb-storage,bus=ehci.0,drive=hs",
                    "-drive", $"if=none,id=uasdisk,format=raw,file={uasImage}",
                    "-device", "usb-uas,bus=xhci.0,id=uas",
                    "-device", "scsi-hd,bus=uas.0,scsi-id=0,lun=0,drive=uasdisk",
                    .. UsbredirectIsoTests.UsbAudio(wav),
                    "-chardev", $"socket,id=isosrc-{tag},host=127.0.0.1,port={ports[0]},server=on,wait=off",
                    "-device", $"usb-redir,chardev=isosrc-{tag},bus=xhci.0",
                ]);
                for (var i = 0; i < vports.Length; i++)
                {
                    options.QemuArgs.AddRange([
                        "-chardev", $"socket,id={vportNames[i]}-{tag},host=127.0.0.1,port={ports[1 + i]},server=on,wait=off",
                        "-device", $"usb-redir,chardev={vportNames[i]}-{tag},bus=xhci.0",
                    ]);
                    options.SerialClients.Add((((IPEndPoint)vports[i].LocalEndpoint).Port, vportNames[i]));
                }
                return Task.Run(() => GuestVm.Run(command, options));
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
            return new Run(result, uasImage, wav, received, string.Join("\n", log));
        }
        finally
        {
            foreach (var vport in vports)
                vport.Dispose();
        }
    }

    private void AssertPassed(params string[] names) => GuestScenarioResults.AssertPassed(GuestRun.Value.Result, output, names);

    /// <summary>
    /// usbredir_vhci is a USB 2.0 controller: the high-speed disk on EHCI goes into it (usbredir plug --backend vhci-ctrl)
    /// and reads the same bytes there, and usb-storage binds to the original again when the forward ends.
    /// </summary>
    [TransfersVmFact]
    public void A_high_speed_disk_forwarded_into_usbredir_vhci_reads_the_same_bytes_and_usb_storage_returns_to_the_original()
    {
        AssertPassed("hs.high-speed-on-ehci", "hs.storage-bound", "hs.vhci-disk-appears", "hs.vhci-disk-gone", "hs.storage-reattached");
        var direct = Md5("hs-direct");
        Assert.Equal(direct, Md5("hs-vhci-ctrl"));
        Assert.Equal(direct, Md5("hs-direct-after"));
    }

    /// <summary>
    /// The SuperSpeed UAS disk exported to qemu's usb-redir: the copy is SuperSpeed with the uas driver bound (which needs
    /// bulk streams: without them usb-storage would take it), the exporter allocated the streams on the device through
    /// libusb, the copy reads the same bytes and a file written through it lands in the original's image; afterwards uas
    /// binds to the original again and reads what the copy wrote.
    /// </summary>
    [TransfersVmFact]
    public void A_uas_disk_exported_to_qemus_usb_redir_runs_on_bulk_streams_with_the_same_bytes()
    {
        AssertPassed("uas.original-uas-bound", "uas.original-superspeed", "uas.copy-disk-appears", "uas.copy-superspeed", "uas.copy-uas-bound",
            "uas.streams-allocated-on-the-device", "uas.copy-gone", "uas.original-uas-reattached", "uas.every-transfer-completed");
        Assert.Equal(Md5("uas-direct"), Md5("uas-redir"));
        Assert.NotEqual(Md5("uas-direct"), Md5("uas-redir-after"));
        Assert.Equal(Md5("uas-redir-after"), Md5("uas-direct-after"));
        Assert.Equal(WrittenThroughUas, Ext2Image.ReadFile(GuestRun.Value.UasImage, "/from-uas.txt"));
    }

    /// <summary>
    /// usb-audio exported to qemu's usb-redir: snd-usb-audio plays the known signal into the copy, and our exporter's iso OUT
    /// transfers carry it to the original, whose wav audiodev file holds it in order, packet by packet, with no run of
    /// missing packets longer than the buffers' overflow policy allows (as in <see cref="UsbredirectIsoTests"/>).
    /// </summary>
    [TransfersVmFact]
    public void Linux_plays_a_known_signal_through_our_exporter_into_qemus_usb_audio()
    {
        AssertPassed("audio.copy-card", "audio.aplay-played", "audio.wav-settled", "audio.iso-stream-through-the-exporter", "audio.copy-gone",
            "audio.original-snd-usb-audio-reattached", "audio.every-transfer-completed");
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
    [TransfersVmFact]
    public void Iso_in_and_out_pass_through_our_exporter_intact()
    {
        AssertPassed("iso.copy-configured", "iso.client-ran", "iso.copy-gone", "iso.every-transfer-completed");
        var stdout = GuestRun.Value.Result.Stdout;
        var inLine = QemuIsoPeerTests.InSummary().Match(stdout);
        Assert.True(inLine.Success, stdout);
        Assert.True(int.Parse(inLine.Groups["data"].Value) >= QemuIsoPeerTests.InPackets, inLine.Value);
        Assert.Equal("0", inLine.Groups["bad"].Value);
        Assert.True(int.Parse(inLine.Groups["gaps"].Value) <= QemuIsoPeerTests.MaxInGaps, $"{inLine.Value}: more than {QemuIsoPeerTests.MaxInGaps} IN packets skipped");
        Assert.Matches(@"INFO iso client: OUT: sent=\d+ completed=\d+ errors=0 ", stdout);

        var played = GuestRun.Value.IsoReceived;
        var numbers = played.Select(p => BinaryPrimitives.ReadInt32LittleEndian(p)).ToArray();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Length, numbers.Distinct().Count());
        Assert.All(played, p => Assert.Equal(QemuIsoPeerTests.OutPacket(BinaryPrimitives.ReadInt32LittleEndian(p)), p));
        var missing = QemuIsoPeerTests.OutPackets - numbers.Count(n => n < QemuIsoPeerTests.OutPackets);
        output.WriteLine($"OUT: device played {played.Count} packets, {missing} of the counted {QemuIsoPeerTests.OutPackets} missing");
        output.WriteLine("--- iso source session ---\n" + GuestRun.Value.IsoSourceLog);
        Assert.True(missing <= QemuIsoPeerTests.MaxOutMissing,
            $"{missing} of the first {QemuIsoPeerTests.OutPackets} OUT packets never reached the device (at most {QemuIsoPeerTests.MaxOutMissing} may)");
    }

    /// <summary>No hung task (hung_task_timeout_secs is 10 in the guest), no kernel problem, every check passed.</summary>
    [TransfersVmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log() =>
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value.Result, output);

    private static string Md5(string path)
    {
        var stdout = GuestRun.Value.Result.Stdout;
        var m = Regex.Match(stdout, $@"^INFO md5\.{Regex.Escape(path)} ([0-9a-f]{{32}})$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no md5 for {path}:\n{stdout}");
        return m.Groups[1].Value;
    }
}

/// <summary>A VM fact that also needs socat (the guest's bridges), aplay (alsa-utils) and libusb with gcc (the iso client).</summary>
public sealed class TransfersVmFactAttribute : FactAttribute
{
    public TransfersVmFactAttribute()
    {
        var missing = new[] { Peers.HasCommand("socat") ? null : "socat", Peers.HasCommand("aplay") ? null : "alsa-utils" }
            .Where(m => m is not null).ToArray();
        // The guest and the libusb build as LibusbVmFact checks them, then what this test needs besides.
        Skip = new LibusbVmFactAttribute().Skip ?? Peers.SkipUnless(missing.Length == 0, string.Join(", ", missing));
    }
}
