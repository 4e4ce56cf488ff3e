using System.Buffers.Binary;
using System.Diagnostics;
using UsbRedir.Devices;
using UsbRedir.Sessions;
using UsbRedir.Tests.Server;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Usbredirect;

/// <summary>
/// Isochronous OUT from our usb-guest role through usbredirect, the reference usb-host: inside a Debian 6.1 guest,
/// usbredirect exports QEMU's emulated usb-audio (a full-speed speaker: 48 kHz stereo s16, a 192-byte iso OUT packet per
/// frame); we configure it, select the streaming alternate setting and play a known signal, which QEMU's wav audiodev
/// writes to a file we then read back.
/// </summary>
/// <remarks>
/// Why the check is not byte-exact: usb-audio opens its voice at its "0 dB" volume, 240 of QEMU's 0..255 scale
/// (hw/usb/dev-audio.c: <c>s->out.vol[0] = 240; /* 0 dB */</c>), and the mixing engine scales every sample by
/// volume / 255 (audio/audio.c: <c>sw->vol.l = nominal_volume.l * vol->vol[0] / 255</c>, applied in mixeng when the
/// backend has no volume control of its own, as wav has not). So each sample comes out as about 240/255 of itself, rounded.
/// The audiodev runs at the device's own 48 kHz so no resampling blurs the edges. The signal is built so that what
/// survives that scaling still proves the stream exact: every 1 ms packet is one period of a 1 kHz square wave on the left
/// channel (24 frames high, 24 low) and a constant on the right that encodes the packet's number relative to the left
/// amplitude. The file must hold whole packets, each a clean period at 240/255 of the amplitude, numbered strictly
/// upwards, and most of them.
/// <para>Why not all of them: the device consumes at the guest's pace, and a TCG guest on a busy two-core host stalls now
/// and then; usbredirect then takes our packets in bursts, and usbredirhost, finding its buffer (pkts_per_urb × no_urbs =
/// 120 packets) full, drops packets until it is back at half, as the protocol prescribes. So a loss is a run of about 60
/// consecutive packets, never a reordered, split or corrupted one: the test allows at most that per gap, and half lost
/// in all.</para>
/// </remarks>
public sealed class UsbredirectIsoTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range.</summary>
    private const int FirstPort = 47200, LastPort = 47299;

    internal const int Amplitude = 20000, Step = 20; // right channel: packet number × Step (at most 1499 × 20 < 32767)
    internal const int SignalPackets = 1500, SilencePackets = 400; // silence flushes the signal through the host's prefill
    private const int PacketsPerTransfer = 10, TransfersInFlight = 4;
    private const int PacketsPerUrb = 10, OutUrbs = 12; // what our guest asks usbredirhost for at 1000 packets/s (IsoStreamPlan)
    private const double DefaultVolume = 240 / 255.0;
    // The host's overflow policy drops back to half its buffer (60 packets), plus a transfer's worth in flight: the longest
    // run of packets that may go missing at once, in both tests (the chain's guest role asks usbredirhost for the same plan).
    internal const int LongestGap = PacketsPerUrb * OutUrbs / 2 + PacketsPerUrb;

    [UsbredirectVmFact]
    public async Task Our_guest_role_plays_a_known_signal_into_qemus_usb_audio_through_usbredirect()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-iso-").FullName;
        var wav = Path.Combine(shared, "out.wav");
        await UsbredirectHarness.RunAsync(output, (FirstPort, LastPort), shared, "46f4:0002", UsbAudio(wav),
            async (connection, device) =>
        {
            Assert.Equal((0x46f4, 0x0002), (device.VendorId, device.ProductId));

            var stream = AudioStreaming.Find(Assert.Single(device.ConfigurationDescriptors).Span);
            output.WriteLine($"streaming: {stream}");
            Assert.Equal((2, 2, 16, 48000), (stream.Channels, stream.SubframeSize, stream.BitResolution, stream.SampleRate));
            Assert.Equal(192, stream.MaxPacketSize); // 48 frames of 4 bytes: one 1 ms frame
            Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(stream.Configuration, default));
            Assert.Equal(UsbStatus.Success, await device.SetAlternateSettingAsync(stream.Interface, stream.AlternateSetting, default));
            Assert.Equal(UsbEndpointType.Isochronous, device.GetEndpointType(stream.Endpoint));

            var clock = Stopwatch.StartNew();
            var results = await PlayAsync(device, stream.Endpoint, stream.MaxPacketSize);
            var elapsed = clock.Elapsed;
            output.WriteLine($"played {results.Count} transfers in {elapsed.TotalMilliseconds:0} ms");
            Assert.All(results, r => Assert.All(r.Packets, p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, 192), p)));
            // Paced at the endpoint's rate, never faster: all but the transfers still in flight took their 1 ms per packet.
            var total = SignalPackets + SilencePackets;
            Assert.True(elapsed >= TimeSpan.FromMilliseconds(total - TransfersInFlight * PacketsPerTransfer), $"{total} packets took only {elapsed}");

            await Task.Delay(500); // what usbredirhost and usb-audio still buffer plays out
            Assert.Equal(UsbStatus.Success, await device.SetAlternateSettingAsync(stream.Interface, 0, default));
        }, kernelArgs: "modprobe.blacklist=snd_usb_audio"); // the guest's own audio driver keeps away from the device

        var recorded = Recorded.Read(wav, output);
        Assert.True(recorded.Complete >= SignalPackets / 2, $"only {recorded.Complete} of {SignalPackets} packets reached the wav file whole");
        recorded.AssertGapsAtMost(LongestGap);
        Directory.Delete(shared, recursive: true);
    }

    /// <summary>
    /// The whole chain with Linux as the player: in the guest, usbredirect exports usb-audio to `usbredir server` on our
    /// vhci-ctrl module, which plugs the remote device (our guest role) into its port; snd-usb-audio drives it there and
    /// aplay plays the same signal, so the kernel's own iso OUT URBs cross our module, the URB router and our guest role.
    /// The check is the same, but packets may be cut anywhere (snd-usb-audio's packets need not start on ours) and ALSA may
    /// insert silence where the TCG guest underruns. The guest plays half a second of silence first: under TCG the first
    /// iso transfers run .NET code not compiled yet, and completions that late can make ALSA give up on a stream (EIO).
    /// </summary>
    [AudioChainVmFact]
    public async Task Linux_plays_through_our_kernel_module_and_guest_role_into_qemus_usb_audio()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-iso-chain-").FullName;
        var wav = Path.Combine(shared, "out.wav");
        var signal = WriteSignal(shared);
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.Add("xhci_pci");
        options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
        options.QemuArgs.AddRange(["-device", "qemu-xhci,id=xhci", .. UsbAudio(wav)]);
        var result = await GuestVm.RunAsync(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "usbredirect-audio-chain.sh"),
            VhciModuleBuild.Module, Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), signal, wav,
            $"{SignalPackets}", $"{LongestGap}", $"{Step}", $"{Amplitude}"], options);
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(result.KernelProblem, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout);
        Assert.Contains("PASS aplay.played", result.Stdout);

        var recorded = Recorded.Read(wav, output);
        Assert.True(recorded.Complete >= SignalPackets / 2, $"only {recorded.Complete} of {SignalPackets} packets reached the wav file whole");
        recorded.AssertGapsAtMost(LongestGap);
        Directory.Delete(shared, recursive: true);
    }

    /// <summary>qemu's usb-audio on bus xhci.0, written by the wav audiodev at the device's own rate (no resampling).</summary>
    internal static string[] UsbAudio(string wav) =>
        ["-audiodev", $"wav,id=snd,path={wav},out.frequency=48000,out.channels=2,out.format=s16", "-device", "usb-audio,audiodev=snd,bus=xhci.0"];

    /// <summary>Streams the signal then the silence, keeping a few transfers queued as an audio driver does.</summary>
    private static async Task<List<UsbIsoTransferResult>> PlayAsync(IUsbDevice device, byte endpoint, int packetSize)
    {
        var packets = Enumerable.Range(0, PacketsPerTransfer).Select(i => new UsbIsoPacket(i * packetSize, packetSize)).ToArray();
        var pending = new Queue<Task<UsbIsoTransferResult>>();
        var results = new List<UsbIsoTransferResult>();
        for (var first = 0; first < SignalPackets + SilencePackets; first += PacketsPerTransfer)
        {
            var buffer = new byte[PacketsPerTransfer * packetSize];
            for (var i = 0; i < PacketsPerTransfer && first + i < SignalPackets; i++)
                WritePacket(buffer.AsSpan(i * packetSize, packetSize), first + i);
            pending.Enqueue(device.IsoTransferAsync(endpoint, buffer, packets, default));
            if (pending.Count == TransfersInFlight)
                results.Add(await pending.Dequeue().WaitAsync(TimeSpan.FromSeconds(10)));
        }
        while (pending.Count > 0)
            results.Add(await pending.Dequeue().WaitAsync(TimeSpan.FromSeconds(10)));
        return results;
    }

    /// <summary>The signal as raw PCM for aplay (signal.raw in <paramref name="dir"/>): the signal packets, then the silence. Returns its path.</summary>
    internal static string WriteSignal(string dir)
    {
        var signal = Path.Combine(dir, "signal.raw");
        var pcm = new byte[(SignalPackets + SilencePackets) * 192];
        for (var n = 0; n < SignalPackets; n++)
            WritePacket(pcm.AsSpan(n * 192, 192), n);
        File.WriteAllBytes(signal, pcm);
        return signal;
    }

    /// <summary>Packet <paramref name="number"/>: one period of the square wave left, the packet's number right.</summary>
    internal static void WritePacket(Span<byte> packet, int number)
    {
        for (var frame = 0; frame < packet.Length / 4; frame++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(packet[(frame * 4)..], (short)(frame < 24 ? Amplitude : -Amplitude));
            BinaryPrimitives.WriteInt16LittleEndian(packet[(frame * 4 + 2)..], (short)(number * Step));
        }
    }

    /// <summary>
    /// What the wav file holds, checked frame by frame: every sounding frame belongs to one signal packet (left ±the scaled
    /// amplitude, right that packet's number), packets come in strictly rising order and none twice, and every packet that
    /// is there whole (48 frames) is one clean period. Silence may come anywhere (before, after, where a player underran);
    /// a packet may be cut where a whole USB packet was dropped at a different alignment.
    /// </summary>
    internal sealed record Recorded(List<int> Numbers, int Complete)
    {
        /// <summary>No run of missing packets (from packet 0 on) is longer than <paramref name="longest"/>.</summary>
        public void AssertGapsAtMost(int longest) =>
            Assert.All(Numbers.Prepend(-1).Zip(Numbers), p => Assert.InRange(p.Second - p.First - 1, 0, longest));

        public static Recorded Read(string path, ITestOutputHelper output)
        {
            var data = DataChunk(File.ReadAllBytes(path)).ToArray();
            var frames = data.Length / 4;
            short L(int f) => BinaryPrimitives.ReadInt16LittleEndian(data.AsSpan(f * 4));
            short R(int f) => BinaryPrimitives.ReadInt16LittleEndian(data.AsSpan(f * 4 + 2));
            var expected = (int)Math.Round(Amplitude * DefaultVolume);
            var high = Enumerable.Range(0, frames).Select(L).DefaultIfEmpty().Max();
            Assert.True(high > 0, $"the wav file holds {frames} frames and no signal");
            Assert.InRange(high, expected - 2, expected + 2); // scaled by the default volume, rounded one way or the other
            var packets = new List<(int Number, List<short> Left)>();
            for (var f = 0; f < frames; f++)
            {
                var (left, right) = (L(f), R(f));
                if (left == 0)
                {
                    Assert.True(right == 0, $"frame {f}: right {right} beside a silent left");
                    continue;
                }
                Assert.True(left == high || Math.Abs(left + high) <= 1, $"frame {f}: left {left} is not ±{high}");
                var number = (int)Math.Round(right * (double)Amplitude / (Step * (double)high));
                Assert.True(Math.Abs(right - number * Step * (double)high / Amplitude) <= 1.5, $"frame {f}: right {right} encodes no packet number");
                if (packets.Count == 0 || packets[^1].Number != number)
                {
                    if (packets.Count > 0 && number < packets[^1].Number)
                        Assert.Fail($"frame {f}: packet {number} after packet {packets[^1].Number}");
                    packets.Add((number, []));
                }
                packets[^1].Left.Add(left);
                Assert.True(packets[^1].Left.Count <= 48, $"frame {f}: packet {number} has more than 48 frames");
            }
            var complete = packets.Where(p => p.Left.Count == 48).ToArray();
            foreach (var (number, left) in complete)
                Assert.True(left.Take(24).All(l => l == high) && left.Skip(24).All(l => l < 0), $"packet {number} is not one period of the square wave");
            var numbers = packets.Select(p => p.Number).ToList();
            var gaps = numbers.Zip(numbers.Skip(1)).Where(p => p.Second != p.First + 1).Select(p => $"{p.First + 1}..{p.Second - 1}");
            output.WriteLine($"wav: {frames} frames, {numbers.Count} packets {numbers.FirstOrDefault()}..{numbers.LastOrDefault()} ({complete.Length} whole), " +
                $"{SignalPackets - numbers.Count} missing ({string.Join(", ", gaps)}), amplitude {high} (expected {expected})");
            return new Recorded(numbers, complete.Length);
        }

        /// <summary>The samples of the file's data chunk (to the end of the file: qemu writes the sizes only when it closes it).</summary>
        private static ReadOnlySpan<byte> DataChunk(byte[] file)
        {
            Assert.True(file.Length >= 12 && file.AsSpan(0, 4).SequenceEqual("RIFF"u8) && file.AsSpan(8, 4).SequenceEqual("WAVE"u8), "not a wav file");
            var at = 12;
            while (at + 8 <= file.Length)
            {
                var size = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at + 4));
                if (file.AsSpan(at, 4).SequenceEqual("fmt "u8))
                {
                    Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(file.AsSpan(at + 8))); // PCM
                    Assert.Equal(2, BinaryPrimitives.ReadInt16LittleEndian(file.AsSpan(at + 10)));
                    Assert.Equal(48000, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at + 12)));
                    Assert.Equal(16, BinaryPrimitives.ReadInt16LittleEndian(file.AsSpan(at + 22)));
                }
                if (file.AsSpan(at, 4).SequenceEqual("data"u8))
                    return file.AsSpan(at + 8);
                at += 8 + Math.Max(0, size);
            }
            throw new Xunit.Sdk.XunitException("the wav file has no data chunk");
        }
    }
}

/// <summary>The audio streaming alternate setting of a USB Audio Class 1 configuration with an isochronous OUT endpoint.</summary>
internal sealed record AudioStreaming(byte Configuration, byte Interface, byte AlternateSetting, byte Endpoint, int MaxPacketSize,
    int Channels, int SubframeSize, int BitResolution, int SampleRate)
{
    public static AudioStreaming Find(ReadOnlySpan<byte> configuration)
    {
        var configurationValue = configuration[5];
        (byte Number, byte Alt)? streaming = null;
        (int Channels, int Subframe, int Bits, int Rate)? format = null;
        for (var at = 0; at + 2 <= configuration.Length && configuration[at] >= 2; at += configuration[at])
        {
            var d = configuration.Slice(at, Math.Min(configuration[at], configuration.Length - at));
            switch (d[1])
            {
                case 4 when d.Length >= 9: // INTERFACE: audio (1), streaming (2)
                    streaming = d[5] == 1 && d[6] == 2 ? (d[2], d[3]) : null;
                    format = null;
                    break;
                case 0x24 when streaming is not null && d.Length >= 11 && d[2] == 2: // CS_INTERFACE FORMAT_TYPE (type I)
                    format = (d[4], d[5], d[6], d[8] | d[9] << 8 | d[10] << 16);
                    break;
                case 5 when streaming is { } s && format is { } f && d.Length >= 7 && (d[3] & 3) == 1 && (d[2] & 0x80) == 0:
                    return new AudioStreaming(configurationValue, s.Number, s.Alt, d[2], BinaryPrimitives.ReadUInt16LittleEndian(d[4..]) & 0x7FF,
                        f.Channels, f.Subframe, f.Bits, f.Rate);
            }
        }
        throw new Xunit.Sdk.XunitException("no audio streaming interface with an isochronous OUT endpoint");
    }
}

/// <summary>A VM fact that also needs usbredirect and aplay (alsa-utils) in the host root the guest shares.</summary>
public sealed class AudioChainVmFactAttribute : FactAttribute
{
    public AudioChainVmFactAttribute()
    {
        var missing = new[] { GuestVm.Missing, Peers.HasCommand("usbredirect") ? null : "usbredirect", Peers.HasCommand("aplay") ? null : "alsa-utils" }
            .Where(m => m is not null).ToArray();
        Skip = Peers.SkipUnless(missing.Length == 0, string.Join(", ", missing));
    }
}
