using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Tests.Protocol;

/// <summary>
/// Every receive rule gives a typed error naming the packet and the rule, the bad packet is skipped and the next one
/// is delivered; every send rule refuses the packet with a UsbRedirProtocolException and writes nothing.
/// </summary>
public sealed class CodecRuleTests
{
    private const UsbRedirRole Host = UsbRedirRole.UsbHost;
    private const UsbRedirRole Guest = UsbRedirRole.UsbGuest;
    private const UsbRedirCapabilities All = UsbRedirCapabilities.All;
    private const UsbRedirCapabilities NoFilter = UsbRedirCapabilities.All & ~UsbRedirCapabilities.Filter;

    public static TheoryData<string, UsbRedirRole, UsbRedirCapabilities, uint, byte[], UsbRedirViolation> ReceiveCases => new()
    {
        { "unknown type", Host, All, 50, [], UsbRedirViolation.UnknownPacketType },
        { "device_connect to a host", Host, All, 1, new byte[10], UsbRedirViolation.WrongDirection },
        { "set_configuration to a guest", Guest, All, 6, [1], UsbRedirViolation.WrongDirection },
        { "set_configuration without its byte", Host, All, 6, [], UsbRedirViolation.LengthShorterThanHeader },
        { "reset with extra bytes", Host, All, 3, [1, 2, 3, 4], UsbRedirViolation.UnexpectedExtraData },
        { "33 interfaces", Guest, All, 4, Le32(33, 132), UsbRedirViolation.InterfaceCountTooLarge },
        { "interrupt receiving on OUT", Host, All, 15, [0x01], UsbRedirViolation.EndpointNotInput },
        { "interrupt status on OUT", Guest, All, 17, [0, 0x02], UsbRedirViolation.EndpointNotInput },
        { "bulk receiving on OUT", Host, All, 26, [0, 0, 0, 0, 0x03], UsbRedirViolation.EndpointNotInput },
        { "filter_reject without cap", Host, NoFilter, 22, [], UsbRedirViolation.MissingCapability },
        { "ack without cap", Host, All & ~UsbRedirCapabilities.DeviceDisconnectAck, 24, [], UsbRedirViolation.MissingCapability },
        { "buffered bulk without cap", Guest, All & ~UsbRedirCapabilities.BulkReceiving, 104, [0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0], UsbRedirViolation.MissingCapability },
        { "empty filter", Host, All, 23, [], UsbRedirViolation.FilterEmpty },
        { "unterminated filter", Host, All, 23, "-1,-1,-1,-1,1"u8.ToArray(), UsbRedirViolation.FilterNotTerminated },
        { "bulk over 128 MiB", Guest, All, 101, [0x02, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x08], UsbRedirViolation.BulkLengthTooLarge },
        { "bulk receiving over 128 MiB", Host, All, 25, [0, 0, 0, 0, 1, 0, 0, 8, 0x81, 1], UsbRedirViolation.BulkLengthTooLarge },
        { "bulk OUT short of its length", Host, All, 101, [0x02, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5], UsbRedirViolation.PayloadLengthMismatch },
        { "bulk IN request with data", Host, All, 101, [0x81, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9], UsbRedirViolation.UnexpectedPayload },
        { "iso IN from the guest", Host, All, 102, [0x81, 0, 8, 0], UsbRedirViolation.DataWrongDirection },
        { "interrupt IN from the guest", Host, All, 103, [0x81, 0, 8, 0], UsbRedirViolation.DataWrongDirection },
        { "iso OUT from the host", Guest, All, 102, [0x01, 0, 8, 0], UsbRedirViolation.DataWrongDirection },
    };

    [Theory]
    [MemberData(nameof(ReceiveCases))]
    public void ABrokenRuleIsATypedErrorAndTheNextPacketArrives(string what, UsbRedirRole role, UsbRedirCapabilities caps, uint type,
        byte[] body, UsbRedirViolation violation)
    {
        var codec = new UsbRedirCodec(role, caps, "test");
        var stream = new List<byte>(Hello(All));
        stream.AddRange(Packet(type, 7, body));
        var next = role == Host ? UsbRedirPacketType.GetConfiguration : UsbRedirPacketType.DeviceDisconnect;
        stream.AddRange(Packet((uint)next, 9, []));

        // Byte by byte: the rule must hold however the packet is split.
        var events = stream.SelectMany(b => codec.Receive([b]).ToArray()).ToList();

        Assert.Equal(3, events.Count);
        var error = events[1].Error;
        Assert.True(error is not null, what);
        Assert.Equal(violation, error.Violation);
        Assert.Equal(type, (uint)error.PacketType);
        var name = PacketNames.Of((UsbRedirPacketType)type);
        Assert.Contains(violation == UsbRedirViolation.UnknownPacketType ? type.ToString() : name, error.Message);
        Assert.Equal(next, events[2].PacketType);
        Assert.Equal(UsbRedirEventKind.Packet, events[2].Kind);
    }

    [Fact]
    public void APacketOverTheSizeLimitIsSkippedWhole()
    {
        var codec = new UsbRedirCodec(Host, All, "test");
        codec.Receive(Hello(All));
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 101);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), UsbRedirLimits.MaxPacketSize + 1);
        var error = Assert.Single(codec.Receive(header).ToArray()).Error!;
        Assert.Equal(UsbRedirViolation.PacketTooLarge, error.Violation);
        Assert.Contains("bulk_packet", error.Message);
        Assert.Equal(UsbRedirLimits.MaxPacketSize + 1, error.BytesSkipped);
    }

    [Fact]
    public void ASecondHelloIsIgnoredAndBulkStreamsWithoutMaxPacketSizeCleared()
    {
        var codec = new UsbRedirCodec(Guest, All, "test");
        var first = codec.Receive(Hello(UsbRedirCapabilities.BulkStreams | UsbRedirCapabilities.Ids64Bit)).ToArray();
        Assert.Equal(UsbRedirCapabilities.Ids64Bit, first[0].Hello.Capabilities);
        Assert.Equal(UsbRedirViolation.InconsistentPeerCapabilities, first[1].Error!.Violation);
        Assert.Equal(16, codec.HeaderSize);

        var second = Assert.Single(codec.Receive(Packet(0, 0, Hello(All).AsSpan(12).ToArray())).ToArray());
        Assert.Equal(UsbRedirViolation.DuplicateHello, second.Error!.Violation);
        Assert.Contains("hello", second.Error.Message);
        Assert.Equal(UsbRedirCapabilities.Ids64Bit, codec.PeerCapabilities);
    }

    public static TheoryData<string, UsbRedirRole, UsbRedirCapabilities, Action<UsbRedirCodec>, UsbRedirViolation> SendCases => new()
    {
        { "host sends reset", Host, All, c => c.SendReset(), UsbRedirViolation.WrongDirection },
        { "guest sends device_connect", Guest, All, c => c.Send(new DeviceConnectHeader(UsbSpeed.High, 0, 0, 0, 1, 2, 3)), UsbRedirViolation.WrongDirection },
        { "bulk > 64 KiB without 32-bit lengths", Guest, All & ~UsbRedirCapabilities.BulkLength32Bit,
            c => c.Send(1, new BulkPacketHeader(0x81, UsbStatus.Success, 70000, 0)), UsbRedirViolation.BulkLengthNeedsCapability },
        { "filter_reject to a host without filter", Guest, NoFilter, c => c.SendFilterReject(), UsbRedirViolation.MissingCapability },
        { "bulk OUT payload differs from length", Guest, All,
            c => c.Send(1, new BulkPacketHeader(0x02, UsbStatus.Success, 4, 0), new byte[3]), UsbRedirViolation.PayloadLengthMismatch },
        { "control IN request with data", Guest, All,
            c => c.Send(1, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x100, 0, 1), new byte[1]), UsbRedirViolation.UnexpectedPayload },
        { "33 interfaces", Host, All,
            c => c.Send(new InterfaceInfoHeader(33, [], [], [], [])), UsbRedirViolation.InterfaceCountTooLarge },
        { "payload on a header-only type", Guest, All,
            c => c.Send(1, new SetConfigurationHeader(1), new byte[1]), UsbRedirViolation.UnexpectedExtraData },
    };

    [Theory]
    [MemberData(nameof(SendCases))]
    public void ABrokenPacketIsRefusedOnSendAndNothingIsWritten(string what, UsbRedirRole role, UsbRedirCapabilities peerCaps,
        Action<UsbRedirCodec> send, UsbRedirViolation violation)
    {
        var codec = new UsbRedirCodec(role, All, "test");
        codec.Receive(Hello(peerCaps));
        var pending = codec.PendingOutputLength;
        var e = Assert.Throws<UsbRedirProtocolException>(() => send(codec));
        Assert.Equal(violation, e.Violation);
        Assert.Equal(UsbRedirErrorCategory.InvalidArgument, e.Category);
        Assert.False(string.IsNullOrEmpty(e.RecommendedAction), what);
        Assert.Equal(pending, codec.PendingOutputLength);
    }

    private static byte[] Hello(UsbRedirCapabilities caps) => CodecHarness.PeerHello(caps);

    /// <summary>A packet with a 16-byte header (both sides of these tests negotiate 64-bit ids).</summary>
    private static byte[] Packet(uint type, ulong id, byte[] body)
    {
        var p = new byte[16 + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(p, type);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), (uint)body.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(8), id);
        body.CopyTo(p, 16);
        return p;
    }

    private static byte[] Le32(uint value, int size)
    {
        var b = new byte[size];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }
}
