using System.Text;
using UsbRedir.Protocol;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Protocol;

/// <summary>
/// The C# codec against Debian's libusbredirparser 0.13 (tests/interop/codec_harness.c): for both sending roles and
/// every combination of the five size-changing caps on either side (4^5 pairs), with the permission caps varied,
/// a stream holding every packet type the direction allows is encoded by both implementations (the bytes must be
/// identical) and each one's bytes are decoded by the other, split at seeded random points (the fields must be those
/// sent). Half the time our side sends everything before the peer's hello arrives, so queue-until-hello must give
/// the same bytes. All cases run through one harness process.
/// </summary>
public sealed class CodecDifferentialTests
{
    private const int Seed = 20261201;

    private static readonly UsbRedirCapabilities[] SizeCaps =
    [
        UsbRedirCapabilities.BulkStreams, UsbRedirCapabilities.ConnectDeviceVersion, UsbRedirCapabilities.EpInfoMaxPacketSize,
        UsbRedirCapabilities.Ids64Bit, UsbRedirCapabilities.BulkLength32Bit,
    ];

    private static readonly UsbRedirCapabilities[] PermissionCaps =
        [UsbRedirCapabilities.Filter, UsbRedirCapabilities.DeviceDisconnectAck, UsbRedirCapabilities.BulkReceiving];

    private sealed record Case(
        string Name, UsbRedirRole Sender, UsbRedirCapabilities SenderCaps, UsbRedirCapabilities ReceiverCaps, string Version,
        List<string> Send, List<string> Expect, int[] ChunksForC, int[] ChunksForUs, bool InPlace, bool SendBeforeHello);

    [LibUsbRedirParserFact]
    public void EveryTypeRoleAndCapCombinationEncodesAndDecodesLikeC()
    {
        var generator = new CodecCaseGenerator(Seed);
        var cases = new List<Case>();
        foreach (var sender in new[] { UsbRedirRole.UsbGuest, UsbRedirRole.UsbHost })
            for (var combo = 0; combo < 1 << (2 * SizeCaps.Length); combo++)
                cases.Add(MakeCase(generator, sender, combo));

        // Round 1: C encodes and decodes what we encoded.
        var ours = cases.Select(c => CodecHarness.Encode(c.Sender, c.SenderCaps, PeerCaps(c), c.Version, c.Send, c.SendBeforeHello)).ToList();
        var commands = new List<string>();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            commands.Add(CodecHarness.EncodeCommand(c.Sender, c.SenderCaps, PeerCaps(c), c.Version, c.Send));
            commands.Add(CodecHarness.DecodeCommand(Receiver(c), c.ReceiverCaps, c.ChunksForC, ours[i]));
        }
        var results = CodecHarness.RunC(commands);

        var packets = 0;
        var covered = new HashSet<(UsbRedirRole, uint)>();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var expected = string.Join(' ', c.Expect.Prepend(ExpectedHello(c)));
            var theirs = Convert.FromHexString(results[2 * i]);
            Assert.True(theirs.AsSpan().SequenceEqual(ours[i]), $"{c.Name}: the C parser encodes differently\n C: {results[2 * i]}\nC#: {CodecText.Hex(ours[i])}");
            Assert.True(expected == results[2 * i + 1], $"{c.Name}: C decodes our bytes differently\nexpected: {expected}\n  C read: {results[2 * i + 1]}");
            var decoded = CodecHarness.Decode(Receiver(c), c.ReceiverCaps, c.ChunksForUs, theirs, c.InPlace);
            Assert.True(expected == decoded, $"{c.Name}: we decode C's bytes differently\nexpected: {expected}\n we read: {decoded}");
            packets += c.Send.Count;
            foreach (var token in c.Send) covered.Add((c.Sender, uint.Parse(token[..token.IndexOf(':')])));
        }

        // Every type 1-27 and 100-104 was sent in each direction that allows it (hello opens every stream).
        Assert.Equal(21 + 16, covered.Count);
        Assert.True(packets > 40_000, $"only {packets} packets");
    }

    private static Case MakeCase(CodecCaseGenerator g, UsbRedirRole sender, int combo)
    {
        UsbRedirCapabilities senderCaps = 0, receiverCaps = 0;
        for (var bit = 0; bit < SizeCaps.Length; bit++)
        {
            if ((combo & (1 << (2 * bit))) != 0) senderCaps |= SizeCaps[bit];
            if ((combo & (2 << (2 * bit))) != 0) receiverCaps |= SizeCaps[bit];
        }
        foreach (var cap in PermissionCaps)
        {
            if (g.Next(4) != 0) senderCaps |= cap;
            if (g.Next(4) != 0) receiverCaps |= cap;
        }
        var receiver = sender == UsbRedirRole.UsbHost ? UsbRedirRole.UsbGuest : UsbRedirRole.UsbHost;
        var negotiated = CodecCaseGenerator.Effective(sender, senderCaps) & CodecCaseGenerator.Effective(receiver, receiverCaps);
        var types = CodecCaseGenerator.SendableTypes(sender, CodecCaseGenerator.Effective(receiver, receiverCaps)).ToList();
        for (var extra = g.Next(6); extra > 0; extra--)
            types.Add(types[g.Next(types.Count)]);
        var order = types.OrderBy(_ => g.Next(1 << 30)).ToList();
        var big = g.Next(64) == 0;
        var send = new List<string>();
        var expect = new List<string>();
        foreach (var type in order)
        {
            var (s, e) = g.Packet(type, sender, negotiated, big);
            send.Add(s);
            expect.Add(e);
        }
        var version = new string(Enumerable.Range(0, g.Next(72)).Select(_ => (char)('!' + g.Next(94))).ToArray());
        var name = $"{sender} sending, caps 0x{(uint)senderCaps:x2} -> 0x{(uint)receiverCaps:x2}";
        return new Case(name, sender, senderCaps, receiverCaps, version, send, expect, g.Chunks(), g.Chunks(), g.Next(2) == 0, g.Next(2) == 0);
    }

    private static UsbRedirRole Receiver(Case c) => c.Sender == UsbRedirRole.UsbHost ? UsbRedirRole.UsbGuest : UsbRedirRole.UsbHost;

    /// <summary>What the receiver's hello advertises (a guest parser adds the disconnect ack itself); the sender sanitises it.</summary>
    private static UsbRedirCapabilities PeerCaps(Case c) =>
        Receiver(c) == UsbRedirRole.UsbGuest ? c.ReceiverCaps | UsbRedirCapabilities.DeviceDisconnectAck : c.ReceiverCaps;

    private static string ExpectedHello(Case c)
    {
        var version = Encoding.UTF8.GetBytes(c.Version);
        return $"0:0:{(uint)CodecCaseGenerator.Effective(c.Sender, c.SenderCaps)}:{CodecText.Hex(version.AsSpan(0, Math.Min(63, version.Length)))}";
    }
}
