using System.Buffers.Binary;
using System.Text;
using UsbRedir.Protocol;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Protocol;

/// <summary>
/// Both implementations behind the same two operations: encode (a parser that has read the peer's hello sends
/// packet tokens; result = every byte written) and decode (a parser reads a stream split into chunks; result = the
/// tokens received). The C side is tests/interop/codec_harness.c, driven with many commands through one process.
/// </summary>
internal static class CodecHarness
{
    public static string RoleLetter(UsbRedirRole role) => role == UsbRedirRole.UsbHost ? "h" : "g";

    public static string EncodeCommand(UsbRedirRole role, UsbRedirCapabilities caps, UsbRedirCapabilities peerCaps, string version,
        IEnumerable<string> tokens) =>
        $"E {RoleLetter(role)} {(uint)caps} {(uint)peerCaps} {CodecText.Hex(Encoding.UTF8.GetBytes(version))} {string.Join(' ', tokens)}".TrimEnd();

    public static string DecodeCommand(UsbRedirRole role, UsbRedirCapabilities caps, IEnumerable<int> chunks, ReadOnlySpan<byte> stream) =>
        $"D {RoleLetter(role)} {(uint)caps} {string.Join(',', chunks)} {CodecText.Hex(stream)}";

    /// <summary>Runs commands through libusbredirparser; one result line each.</summary>
    public static IReadOnlyList<string> RunC(IReadOnlyList<string> commands) =>
        NativeHarness.RunLines(NativeHarness.Build("codec_harness.c", "libusbredirparser-0.5"), commands);

    /// <summary>The hello the harness feeds an encoding parser: version "peer", one caps word.</summary>
    public static byte[] PeerHello(UsbRedirCapabilities caps)
    {
        var hello = new byte[UsbRedirLimits.HeaderSize32 + UsbRedirLimits.VersionFieldSize + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(4), UsbRedirLimits.VersionFieldSize + 4);
        "peer"u8.CopyTo(hello.AsSpan(UsbRedirLimits.HeaderSize32));
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(hello.Length - 4), (uint)caps);
        return hello;
    }

    /// <summary>
    /// The C# twin of the E command. With <paramref name="sendBeforeHello"/> the packets are sent before the peer's
    /// hello arrives: the codec must queue them and flush them, sized for the negotiated caps, when it does.
    /// </summary>
    public static byte[] Encode(UsbRedirRole role, UsbRedirCapabilities caps, UsbRedirCapabilities peerCaps, string version,
        IReadOnlyList<string> tokens, bool sendBeforeHello = false)
    {
        var codec = new UsbRedirCodec(role, caps, version);
        if (sendBeforeHello)
        {
            var helloLength = codec.PendingOutputLength;
            foreach (var token in tokens)
                CodecText.Send(codec, token);
            Assert.Equal(tokens.Count, codec.QueuedPacketCount);
            Assert.Equal(helloLength, codec.PendingOutputLength); // nothing but our hello goes out before the peer's
        }
        var batch = codec.Receive(PeerHello(peerCaps));
        Assert.True(batch.Count >= 1 && batch[0].PacketType == UsbRedirPacketType.Hello && batch[0].Kind == UsbRedirEventKind.Packet);
        Assert.DoesNotContain(batch.ToArray(), e => e.Kind == UsbRedirEventKind.Error && e.Error!.Violation == UsbRedirViolation.QueuedPacketDropped);
        Assert.Equal(0, codec.QueuedPacketCount);
        if (!sendBeforeHello)
            foreach (var token in tokens)
                CodecText.Send(codec, token);
        return codec.PendingOutput.ToArray();
    }

    /// <summary>The C# twin of the D command; <paramref name="inPlace"/> picks ReceiveInPlace over Receive.</summary>
    public static string Decode(UsbRedirRole role, UsbRedirCapabilities caps, IReadOnlyList<int> chunks, byte[] stream, bool inPlace)
    {
        var codec = new UsbRedirCodec(role, caps, "harness");
        var tokens = new List<string>();
        var pos = 0;
        for (var i = 0; pos < stream.Length; i++)
        {
            var n = Math.Min(chunks[i % chunks.Count], stream.Length - pos);
            var batch = inPlace ? codec.ReceiveInPlace(stream.AsMemory(pos, n)) : codec.Receive(stream.AsSpan(pos, n));
            foreach (var e in batch)
                if (CodecText.Format(e) is { } token)
                    tokens.Add(token);
            pos += n;
        }
        return string.Join(' ', tokens);
    }
}
