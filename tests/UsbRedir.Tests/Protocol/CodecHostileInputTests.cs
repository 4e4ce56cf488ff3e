using System.Buffers.Binary;
using UsbRedir.Protocol;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Protocol;

/// <summary>
/// Hostile bytes: mutated and random streams at random split points. The codec must skip exactly what
/// libusbredirparser skips (same packets delivered, same parse errors), never throw, never hold or allocate more than
/// the bytes that arrived, and always return.
/// </summary>
public sealed class CodecHostileInputTests
{
    private const int Seed = 20261202;

    private static readonly UsbRedirCapabilities[] CapChoices =
        [UsbRedirCapabilities.All, UsbRedirCapabilities.None, (UsbRedirCapabilities)0xDE, (UsbRedirCapabilities)0x21, (UsbRedirCapabilities)0x75];

    [LibUsbRedirParserFact]
    public void MutatedStreamsAreSkippedAndDeliveredLikeC()
    {
        var g = new CodecCaseGenerator(Seed);
        var cases = new List<(UsbRedirRole Receiver, UsbRedirCapabilities Caps, byte[] Stream, int[] Chunks)>();
        for (var i = 0; i < 3000; i++)
        {
            var sender = g.Next(2) == 0 ? UsbRedirRole.UsbGuest : UsbRedirRole.UsbHost;
            var receiver = sender == UsbRedirRole.UsbGuest ? UsbRedirRole.UsbHost : UsbRedirRole.UsbGuest;
            var senderCaps = CapChoices[g.Next(CapChoices.Length)];
            var receiverCaps = CapChoices[g.Next(CapChoices.Length)];
            var peerCaps = CodecCaseGenerator.Effective(receiver, receiverCaps);
            var negotiated = CodecCaseGenerator.Effective(sender, senderCaps) & peerCaps;
            var types = CodecCaseGenerator.SendableTypes(sender, peerCaps);
            var tokens = Enumerable.Range(0, 4 + g.Next(12)).Select(_ => g.Packet(types[g.Next(types.Count)], sender, negotiated, false).Send).ToList();
            var stream = CodecHarness.Encode(sender, senderCaps, peerCaps, "hostile", tokens);
            cases.Add((receiver, receiverCaps, Mutate(g, stream), g.Chunks()));
        }

        var results = CodecHarness.RunC(cases.Select(c => CodecHarness.DecodeCommand(c.Receiver, c.Caps, c.Chunks, c.Stream)).ToList());
        var errors = 0;
        for (var i = 0; i < cases.Count; i++)
        {
            var (receiver, caps, stream, chunks) = cases[i];
            var (ours, codec) = DecodeGuarded(receiver, caps, stream, chunks);
            // We report a bad type header when it arrives, C when the whole packet has: a stream that ends inside it
            // shows the error only on our side.
            if (codec.PendingSkipBytes > 0 && ours.EndsWith('!') && results[i] == ours[..^1].TrimEnd())
                ours = results[i];
            Assert.True(results[i] == ours,
                $"case {i} ({receiver}, caps 0x{(uint)caps:x2}): stream {CodecText.Hex(stream)}\n C: {results[i]}\nC#: {ours}");
            errors += ours.Split(' ').Count(t => t == "!");
        }
        Assert.True(errors > 3000, $"the mutations produced only {errors} parse errors");
    }

    [Fact]
    public void RandomBytesNeverThrowHoldOrAllocateMoreThanArrived()
    {
        var random = new Random(Seed + 1);
        for (var i = 0; i < 1500; i++)
        {
            var stream = new byte[random.Next(4000)];
            random.NextBytes(stream);
            if (stream.Length >= 80 && random.Next(2) == 0)
                CodecHarness.PeerHello(CapChoices[random.Next(CapChoices.Length)]).CopyTo(stream.AsSpan());
            // Small type numbers and lengths make the garbage look like packets more often.
            for (var k = 0; k + 8 <= stream.Length; k += 4 + random.Next(40))
                if (random.Next(3) == 0)
                    BinaryPrimitives.WriteUInt32LittleEndian(stream.AsSpan(k), (uint)(random.Next(2) == 0 ? random.Next(30) : 100 + random.Next(6)));
            var role = random.Next(2) == 0 ? UsbRedirRole.UsbHost : UsbRedirRole.UsbGuest;
            var chunks = Enumerable.Range(0, 1 + random.Next(5)).Select(_ => 1 + random.Next(random.Next(2) == 0 ? 8 : 600)).ToArray();
            DecodeGuarded(role, CapChoices[random.Next(CapChoices.Length)], stream, chunks);
        }
    }

    [Fact]
    public void AHugeDeclaredLengthHoldsOnlyTheBytesThatArrived()
    {
        var codec = Connected(UsbRedirRole.UsbGuest);
        // A bulk IN completion declaring 128 MiB of data, of which 4 KiB arrive in 64-byte pieces.
        var header = new byte[16 + BulkPacketHeader.FullSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)UsbRedirPacketType.BulkPacket);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), BulkPacketHeader.FullSize + UsbRedirLimits.MaxBulkTransferSize);
        header[16] = 0x81;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(24), (ushort)(UsbRedirLimits.MaxBulkTransferSize >> 16));
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, codec.Receive(header).Count);
        var piece = new byte[64];
        for (var i = 0; i < 64; i++)
            Assert.Equal(0, codec.Receive(piece).Count);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(codec.BufferedReceiveBytes <= header.Length + 4096, $"holds {codec.BufferedReceiveBytes} bytes");
        Assert.True(allocated < 512 * 1024, $"allocated {allocated} bytes for 4 KiB of a 128 MiB packet");

        // One byte over the limit is refused at the header and skipped without buffering anything.
        var tooLong = Connected(UsbRedirRole.UsbGuest);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), UsbRedirLimits.MaxPacketSize + 1);
        var batch = tooLong.Receive(header);
        Assert.Equal(UsbRedirViolation.PacketTooLarge, Assert.Single(batch.ToArray()).Error!.Violation);
        Assert.Equal(0, tooLong.BufferedReceiveBytes);
    }

    /// <summary>Decodes like <see cref="CodecHarness.Decode"/>, checking after every call that nothing was thrown and that
    /// held and newly allocated memory stay proportional to the bytes that arrived.</summary>
    private static (string Tokens, UsbRedirCodec Codec) DecodeGuarded(UsbRedirRole role, UsbRedirCapabilities caps, byte[] stream, int[] chunks)
    {
        var codec = new UsbRedirCodec(role, caps, "harness");
        var tokens = new List<string>();
        var pos = 0;
        for (var i = 0; pos < stream.Length; i++)
        {
            var n = Math.Min(chunks[i % chunks.Length], stream.Length - pos);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var batch = codec.Receive(stream.AsSpan(pos, n));
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            pos += n;
            Assert.True(allocated <= 8L * n + 300 * 1024 + 1024L * batch.Count,
                $"Receive of {n} bytes allocated {allocated} bytes ({batch.Count} events)");
            Assert.True(codec.BufferedReceiveBytes <= pos, $"holds {codec.BufferedReceiveBytes} bytes after {pos} arrived");
            foreach (var e in batch)
            {
                if (e.Kind == UsbRedirEventKind.Error)
                    Assert.False(string.IsNullOrEmpty(e.Error!.Message));
                if (CodecText.Format(e) is { } token)
                    tokens.Add(token);
            }
        }
        return (string.Join(' ', tokens), codec);
    }

    private static byte[] Mutate(CodecCaseGenerator g, byte[] stream)
    {
        var bytes = stream.ToList();
        for (var m = 1 + g.Next(3); m > 0 && bytes.Count > 0; m--)
        {
            var at = g.Next(bytes.Count);
            switch (g.Next(7))
            {
                case 0: bytes[at] = (byte)g.Next(256); break;
                case 1 when at + 4 <= bytes.Count: // a plausible-looking type or length word
                    var word = g.Next(3) switch { 0 => g.Next(30), 1 => 98 + g.Next(9), _ => g.Next(400) };
                    for (var k = 0; k < 4; k++) bytes[at + k] = (byte)(word >> (8 * k));
                    break;
                case 2: bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + g.Next(20))); break;
                case 3: bytes.InsertRange(at, Enumerable.Range(0, 1 + g.Next(20)).Select(_ => (byte)g.Next(256))); break;
                case 4: bytes.InsertRange(at, stream.Take(80)); break; // a second hello (or garbage inside a packet)
                case 5: bytes.RemoveRange(at, bytes.Count - at); break;
                default: bytes[at] ^= (byte)(1 << g.Next(8)); break;
            }
        }
        return bytes.ToArray();
    }

    private static UsbRedirCodec Connected(UsbRedirRole role)
    {
        var codec = new UsbRedirCodec(role, UsbRedirCapabilities.All, "test");
        Assert.Equal(UsbRedirPacketType.Hello, codec.Receive(CodecHarness.PeerHello(UsbRedirCapabilities.All))[0].PacketType);
        return codec;
    }
}
