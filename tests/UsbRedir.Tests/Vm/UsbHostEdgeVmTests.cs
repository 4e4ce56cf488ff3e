using System.Text;
using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// The usb-host role's edge rules observed against the real usbredirhost instead of a hand copy of its source: in one
/// guest boot (tests/vm/scenarios/usb-host-edges.sh), the same scripted usb-guest (tests/interop/usbredir_guest_peer.c,
/// Debian's libusbredirparser) drives Debian's libusbredirhost (tests/interop/usbredirhost_listen.c, the library of
/// usbredirect) and then our exporter (usbredir connect --listen), each exporting the same QEMU device: usb-kbd and
/// usb-storage, with the steps of tests/vm/scenarios/usb-host-edges/*.steps (refused requests on every wrong endpoint
/// type, alternate settings and configurations that do not exist, stalls and clear-halt, short, oversized, zero-length
/// and 32-bit-length transfers, cancels, interrupt/iso/bulk receiving starts and stops on the wrong endpoints, streams
/// on endpoints without them, reset, filter_reject). The two transcripts must agree line by line, except where
/// <see cref="KnownDifferences"/> lists the exact lines, with the reason. When the oracle leaves a transfer unanswered (the emulated
/// disk once lost a CSW on a loaded host), the scenario runs it once more and keeps the first transcript, which is printed;
/// our exporter gets no second run.
/// </summary>
public sealed class UsbHostEdgeVmTests(ITestOutputHelper output)
{
    /// <summary>A difference we keep on purpose: in STEP, usbredirhost printed Reference and we print Ours (null: no line).</summary>
    public sealed record KnownDifference(string Device, string Step, string? Reference, string? Ours, string Reason);

    public static readonly KnownDifference[] KnownDifferences =
    [
        .. ((string[])["kbd", "storage"]).SelectMany(device => (KnownDifference[])
        [
            new(device, "announce", $"hello caps: bulk_streams {CommonCaps}", $"hello caps: {CommonCaps}",
                "usbredirhost advertises bulk_streams for every device; we only for a device with stream endpoints " +
                "(neither QEMU device has one), so a guest does not plan streams we could not allocate"),
            new(device, "filter-reject", null, "device_disconnect", RejectReason),
            new(device, "filter-reject", "configuration_status #barrier success config=1", "configuration_status #barrier ioerror config=1", RejectReason),
            new(device, "after-reject", "configuration_status #1 success config=1", "configuration_status #1 ioerror config=1", RejectReason),
            new(device, "after-reject", "configuration_status #barrier success config=1", "configuration_status #barrier ioerror config=1", RejectReason),
        ]),
    ];

    private const string CommonCaps = "connect_device_version filter device_disconnect_ack ep_info_max_packet_size 64bits_ids 32bits_bulk_length bulk_receiving";

    private const string RejectReason =
        "libusbredirhost only reports filter_reject to its application (usbredirhost_read_guest_data returns " +
        "usbredirhost_read_device_rejected; usbredirect then exits, tests/interop/usbredirhost_listen.c keeps serving) " +
        "and goes on answering; our exporter is that application too: it releases the device at once and tells the " +
        "guest with device_disconnect, so later requests are answered ioerror (no device)";

    private static readonly Lazy<string> GuestRun = new(RunInGuest);

    private static string RunInGuest()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-host-edges-").FullName;
        // A disk whose every sector differs, so a read that lands on the wrong blocks shows in the data hashes.
        var image = Path.Combine(shared, "stick.img");
        var bytes = new byte[16 << 20];
        for (var i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)((i * 7 + i / 512) % 251);
        File.WriteAllBytes(image, bytes);
        var peer = NativeHarness.Build("usbredir_guest_peer.c", "libusbredirparser-0.5");
        var reference = NativeHarness.Build("usbredirhost_listen.c", "libusbredirhost", "libusb-1.0");
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod", "usbhid", "hid_generic"]);
        options.QemuArgs.AddRange([
            "-device", "qemu-xhci,id=xhci,p2=8,p3=8",
            "-drive", $"if=none,id=stick,format=raw,file={image}",
            "-device", "usb-storage,bus=xhci.0,drive=stick",
            "-device", "usb-kbd,bus=xhci.0",
        ]);
        var result = GuestVm.Run(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "usb-host-edges.sh"), shared,
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), peer, reference], options);
        Assert.True(result.ExitCode == 0 && !result.KernelProblem, result.ToString());
        return shared;
    }

    [UsbredirhostVmFact]
    public void Usb_kbd_answers_like_usbredirhost() => Compare("kbd");

    [UsbredirhostVmFact]
    public void Usb_storage_answers_like_usbredirhost() => Compare("storage");

    private void Compare(string device)
    {
        var shared = GuestRun.Value;
        var reference = Transcript(shared, device, "usbredirhost");
        var ours = Transcript(shared, device, "ours");
        var steps = StepNames(device);
        var report = new StringBuilder();
        var unseen = new List<KnownDifference>();
        Assert.Equal("announce", reference.Keys.FirstOrDefault());
        var closed = false; // the steps after usbredirhost hung up have no lines, and ours must have none either
        foreach (var step in steps)
        {
            var r = reference.GetValueOrDefault(step, []);
            var o = ours.GetValueOrDefault(step, []);
            Assert.True(r.Count > 0 || closed, $"{device}: usbredirhost's transcript has no lines for step {step} (every step has at least its barrier):\n{Dump(reference)}");
            closed |= r.Contains("closed");
            foreach (var known in KnownDifferences.Where(k => k.Device == device && k.Step == step))
            {
                var seen = (known.Reference is null || r.Remove(known.Reference)) & (known.Ours is null || o.Remove(known.Ours));
                if (!seen)
                    unseen.Add(known);
            }
            if (!r.SequenceEqual(o))
                report.AppendLine($"step {step}:\n  usbredirhost: {string.Join("\n                ", r)}\n  ours:         {string.Join("\n                ", o)}");
        }
        var first = TranscriptPath(shared, device, "usbredirhost.first");
        if (File.Exists(first))
            output.WriteLine($"--- {device}: usbredirhost, first run (a transfer went unanswered; the scenario ran it again) ---\n{File.ReadAllText(first)}");
        output.WriteLine($"--- {device}: usbredirhost ---\n{File.ReadAllText(TranscriptPath(shared, device, "usbredirhost"))}");
        output.WriteLine($"--- {device}: ours ---\n{File.ReadAllText(TranscriptPath(shared, device, "ours"))}");
        Assert.True(report.Length == 0, $"{device}: our answers differ from usbredirhost's where no known difference says why:\n{report}");
        Assert.True(unseen.Count == 0, $"{device}: known differences no longer seen (remove them, or find what changed):\n" +
            string.Join("\n", unseen));
    }

    /// <summary>The steps of the script, announce first (from the .steps file, so a step that printed nothing is noticed).</summary>
    private static List<string> StepNames(string device) =>
        ["announce", .. File.ReadAllLines(RepoPaths.Combine("tests", "vm", "scenarios", "usb-host-edges", device + ".steps"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l[..l.IndexOf(':')].Trim())];

    private static string TranscriptPath(string shared, string device, string host) => Path.Combine(shared, $"{device}.{host}.txt");

    private static Dictionary<string, List<string>> Transcript(string shared, string device, string host) =>
        GuestPeerTranscript.Read(TranscriptPath(shared, device, host));

    private static string Dump(Dictionary<string, List<string>> transcript) =>
        string.Join("\n", transcript.SelectMany(s => s.Value.Select(l => $"{s.Key} | {l}")));
}

/// <summary>A VM fact that also builds C programs against libusbredirparser, libusbredirhost and libusb.</summary>
public sealed class UsbredirhostVmFactAttribute : FactAttribute
{
    public UsbredirhostVmFactAttribute()
    {
        var libraries = Peers.HasLibUsbRedirParser && File.Exists("/usr/include/usbredirhost.h") && File.Exists("/usr/include/libusb-1.0/libusb.h");
        var missing = new[] { GuestVm.Missing, libraries ? null : "libusbredirparser-dev, libusbredirhost-dev, libusb-1.0-0-dev, gcc, pkg-config" }
            .Where(m => m is not null).ToArray();
        Skip = Peers.SkipUnless(missing.Length == 0, string.Join(", ", missing));
    }
}
