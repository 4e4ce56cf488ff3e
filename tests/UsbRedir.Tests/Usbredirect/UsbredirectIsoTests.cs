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

    private const int Amplitude = 20000, Step = 20; // right channel: packet number × Step (at most 1499 × 20 < 32767)
    private const int SignalPackets = 1500, SilencePackets = 400; // silence flushes the signal through the host's prefill
    private const int PacketsPerTransfer = 10, TransfersInFlight = 4;
    private const int PacketsPerUrb = 10, OutUrbs = 12; // what our guest asks usbredirhost for at 1000 packets/s (IsoStreamPlan)
    private const double DefaultVolume = 240 / 255.0;

    [UsbredirectVmFact]
    public async Task Our_guest_role_plays_a_known_signal_into_qemus_usb_audio_through_usbredirect()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-iso-").FullName;
        var wav = Path.Combine(shared, "out.wav");
        await UsbredirectHarness.RunAsync(output, (FirstPort, LastPort), shared, "46f4:0002",
            ["-audiodev", $"wav,id=snd,path={wav},out.frequency=48000,out.channels=2,out.format=s16", "-device", "usb-audio,audiodev=snd,bus=xhci.0"],
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
        Assert.True(recorded.Numbers.Count >= SignalPackets / 2, $"only {recorded.Numbers.Count} of {SignalPackets} packets reached the wav file");
        // The host's overflow policy drops back to half its buffer (60 packets), plus a transfer's worth in flight.
        const int longestGap = PacketsPerUrb * OutUrbs / 2 + PacketsPerUrb;
        Assert.All(recorded.Numbers.Prepend(-1).Zip(recorded.Numbers), p => Assert.InRange(p.Second - p.First - 1, 0, longestGap));
        Directory.Delete(shared, recursive: true);
    }

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

    /// <summary>Packet <paramref name="number"/>: one period of the square wave left, the packet's number right.</summary>
    private static void WritePacket(Span<byte> packet, int number)
    {
        for (var frame = 0; frame < packet.Length / 4; frame++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(packet[(frame * 4)..], (short)(frame < 24 ? Amplitude : -Amplitude));
            BinaryPrimitives.WriteInt16LittleEndian(packet[(frame * 4 + 2)..], (short)(number * Step));
        }
    }

    /// <summary>What the wav file holds: the packet numbers found, in file order, after checking every frame.</summary>
    private sealed record Recorded(List<int> Numbers)
    {
        public static Recorded Read(string path, ITestOutputHelper output)
        {
            var file = File.ReadAllBytes(path);
            var data = DataChunk(file).ToArray();
            var frames = data.Length / 4;
            short L(int f) => BinaryPrimitives.ReadInt16LittleEndian(data.AsSpan(f * 4));
            short R(int f) => BinaryPrimitives.ReadInt16LittleEndian(data.AsSpan(f * 4 + 2));
            var start = 0;
            while (start < frames && L(start) == 0 && R(start) == 0)
                start++;
            Assert.True(start < frames, $"the wav file holds {frames} frames, all silent");
            var expected = (int)Math.Round(Amplitude * DefaultVolume);
            var numbers = new List<int>();
            var f0 = start;
            for (; f0 + 48 <= frames && L(f0) != 0; f0 += 48)
            {
                var high = L(f0);
                // Scaled by the default volume, rounded one way or the other.
                Assert.InRange(high, expected - 2, expected + 2);
                var right = R(f0);
                for (var f = f0; f < f0 + 48; f++)
                {
                    var left = L(f);
                    Assert.True(f < f0 + 24 ? left == high : Math.Abs(left + high) <= 1, $"frame {f}: left {left} breaks the square wave (high {high})");
                    Assert.True(R(f) == right, $"frame {f}: right {R(f)} changes within a packet ({right})");
                }
                numbers.Add((int)Math.Round(right * (double)Amplitude / (Step * (double)high)));
            }
            for (var f = f0; f < frames; f++)
                Assert.True(L(f) == 0 && R(f) == 0, $"frame {f} after the signal is not silent: {L(f)}, {R(f)}");
            for (var i = 1; i < numbers.Count; i++)
                Assert.True(numbers[i] > numbers[i - 1], $"packet {numbers[i]} follows packet {numbers[i - 1]}");
            var gaps = numbers.Zip(numbers.Skip(1)).Where(p => p.Second != p.First + 1).Select(p => $"{p.First + 1}..{p.Second - 1}");
            output.WriteLine($"wav: {frames} frames, signal from frame {start}: {numbers.Count} packets {numbers.FirstOrDefault()}..{numbers.LastOrDefault()}, " +
                $"{SignalPackets - numbers.Count} missing ({string.Join(", ", gaps)}), amplitude {L(start)} (expected {expected})");
            return new Recorded(numbers);
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
