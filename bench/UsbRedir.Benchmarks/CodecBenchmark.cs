using System.Diagnostics;
using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Tests.Support;

namespace UsbRedir.Benchmarks;

/// <summary>
/// Parse and serialize throughput of the C# codec against libusbredirparser on the same byte streams, in the same
/// run: 64 KiB bulk IN completions (host → guest) and small control requests (guest → host, GET_DESCRIPTOR, 26 bytes
/// each with 64-bit ids). The C baseline (native/codec_bench.c) checks that it serializes exactly the bytes we do.
/// </summary>
internal sealed class CodecBenchmark : IBenchmark
{
    private const int BulkPackets = 512;      // 32 MiB per pass
    private const int ControlPackets = 100_000;
    private const int ReadSize = 256 * 1024;  // what one socket read hands the codec
    private const UsbRedirCapabilities Caps = UsbRedirCapabilities.All;

    public string Name => "codec";

    public string Description => "codec parse/serialize MB/s and packets/s, C# vs libusbredirparser on the same stream";

    public int Run(BenchmarkOptions options)
    {
        var exe = NativeBaseline.Build("codec_bench.c", "libusbredirparser-0.5");

        var dir = Directory.CreateTempSubdirectory("usbredir-codec-bench");
        try
        {
            var bulkStream = Path.Combine(dir.FullName, "bulk.bin");
            var controlStream = Path.Combine(dir.FullName, "control.bin");
            File.WriteAllBytes(bulkStream, Encode(UsbRedirRole.UsbHost, Bulk, BulkPackets));
            File.WriteAllBytes(controlStream, Encode(UsbRedirRole.UsbGuest, Control, ControlPackets));

            Console.WriteLine($"codec benchmark: best of {options.Rounds} runs of >= {options.Seconds:0.#} s each; both sides parse/serialize the same bytes");
            Console.WriteLine($"{"workload",-34} {"C# MB/s",9} {"C# pkt/s",11} {"C MB/s",9} {"C pkt/s",11} {"C#/C",6}");
            var bytes = File.ReadAllBytes(bulkStream);
            var control = File.ReadAllBytes(controlStream);
            var seconds = options.Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Row("parse 64 KiB bulk (Receive)", options, () => Parse(UsbRedirRole.UsbGuest, bytes, options.Seconds, inPlace: false),
                () => Native(exe, "parse", "g", $"{(uint)Caps}", bulkStream, seconds));
            Row("parse 64 KiB bulk (ReceiveInPlace)", options, () => Parse(UsbRedirRole.UsbGuest, bytes, options.Seconds, inPlace: true),
                () => Native(exe, "parse", "g", $"{(uint)Caps}", bulkStream, seconds));
            Row("serialize 64 KiB bulk", options, () => Serialize(UsbRedirRole.UsbHost, Bulk, BulkPackets, options.Seconds),
                () => Native(exe, "serialize", "h", $"{(uint)Caps}", $"{(uint)Caps}", "bulk", $"{BulkPackets}", bulkStream, seconds));
            Row("parse control 26 B (Receive)", options, () => Parse(UsbRedirRole.UsbHost, control, options.Seconds, inPlace: false),
                () => Native(exe, "parse", "h", $"{(uint)Caps}", controlStream, seconds));
            Row("parse control 26 B (ReceiveInPlace)", options, () => Parse(UsbRedirRole.UsbHost, control, options.Seconds, inPlace: true),
                () => Native(exe, "parse", "h", $"{(uint)Caps}", controlStream, seconds));
            Row("serialize control 26 B", options, () => Serialize(UsbRedirRole.UsbGuest, Control, ControlPackets, options.Seconds),
                () => Native(exe, "serialize", "g", $"{(uint)Caps}", $"{(uint)Caps}", "control", $"{ControlPackets}", controlStream, seconds));
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void Row(string name, BenchmarkOptions options, Func<Throughput> ours, Func<Throughput> theirs)
    {
        ours(); // warm-up: JIT and tiering
        Throughput? o = null, c = null;
        for (var round = 0; round < options.Rounds; round++)
        {
            var a = ours();
            var b = theirs();
            o = o is { } po ? Throughput.Best(po, a) : a;
            c = c is { } pc ? Throughput.Best(pc, b) : b;
        }
        Console.WriteLine($"{name,-34} {o!.Value.MegabytesPerSecond,9:0} {o.Value.PacketsPerSecond,11:0} " +
                          $"{c!.Value.MegabytesPerSecond,9:0} {c.Value.PacketsPerSecond,11:0} {o.Value.PacketsPerSecond / c.Value.PacketsPerSecond,5:0.00}x");
    }

    private static Throughput Native(string exe, params string[] args) => Throughput.ParseNative(ProcessRunner.Run(exe, args));

    private static readonly byte[] BulkPayload = Enumerable.Range(0, 65536).Select(i => (byte)(i * 7)).ToArray();

    private static void Bulk(UsbRedirCodec codec, int i) =>
        codec.Send((ulong)i, new BulkPacketHeader(0x81, UsbStatus.Success, 65536, 0), BulkPayload);

    private static void Control(UsbRedirCodec codec, int i) =>
        codec.Send((ulong)i, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x0100, 0, 18));

    /// <summary>A sender past the peer's hello (all caps on both sides), its own hello still pending in the output.</summary>
    private static UsbRedirCodec Sender(UsbRedirRole role)
    {
        var codec = new UsbRedirCodec(role, Caps, "bench");
        var hello = new byte[80];
        BitConverter.TryWriteBytes(hello.AsSpan(4), 68);
        "peer"u8.CopyTo(hello.AsSpan(12));
        BitConverter.TryWriteBytes(hello.AsSpan(76), (uint)Caps);
        codec.Receive(hello);
        return codec;
    }

    private static byte[] Encode(UsbRedirRole role, Action<UsbRedirCodec, int> send, int count)
    {
        var codec = Sender(role);
        for (var i = 0; i < count; i++)
            send(codec, i);
        return codec.PendingOutput.ToArray();
    }

    private static Throughput Parse(UsbRedirRole role, byte[] stream, double seconds, bool inPlace)
    {
        long packets = 0, bytes = 0;
        var sw = Stopwatch.StartNew();
        do
        {
            var codec = new UsbRedirCodec(role, Caps, "bench");
            for (var pos = 0; pos < stream.Length; pos += ReadSize)
            {
                var n = Math.Min(ReadSize, stream.Length - pos);
                var batch = inPlace ? codec.ReceiveInPlace(stream.AsMemory(pos, n)) : codec.Receive(stream.AsSpan(pos, n));
                foreach (var e in batch)
                {
                    if (e.Kind != UsbRedirEventKind.Packet) throw new InvalidOperationException($"benchmark stream broke a rule: {e.Error}");
                    if (e.PacketType != UsbRedirPacketType.Hello) packets++;
                }
            }
            bytes += stream.Length;
        } while (sw.Elapsed.TotalSeconds < seconds);
        return new Throughput(packets, bytes, sw.Elapsed);
    }

    private static Throughput Serialize(UsbRedirRole role, Action<UsbRedirCodec, int> send, int count, double seconds)
    {
        var codec = Sender(role);
        codec.AdvanceOutput(codec.PendingOutputLength);
        long packets = 0, bytes = 0;
        var sw = Stopwatch.StartNew();
        do
        {
            for (var i = 0; i < count; i++)
            {
                send(codec, i);
                // Handed to the transport at once, as a session does.
                bytes += codec.PendingOutputLength;
                codec.AdvanceOutput(codec.PendingOutputLength);
            }
            packets += count;
        } while (sw.Elapsed.TotalSeconds < seconds);
        return new Throughput(packets, bytes, sw.Elapsed);
    }
}
