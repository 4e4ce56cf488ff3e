using System.Buffers;
using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Tests.Protocol;

/// <summary>
/// UsbRedirCodec.SendTo, which encodes a packet straight into a transport's queue: the same bytes as Send (which the
/// differential tests hold byte-exact to libusbredirparser), and never out of order with what Send queued.
/// </summary>
public sealed class CodecSendToTests
{
    private static UsbRedirCodec HostAfterHello() => AfterHello(UsbRedirRole.UsbHost);

    private static UsbRedirCodec AfterHello(UsbRedirRole role)
    {
        var codec = new UsbRedirCodec(role, UsbRedirCapabilities.All, "test");
        codec.Receive(CodecHarness.PeerHello(UsbRedirCapabilities.All));
        codec.AdvanceOutput(codec.PendingOutputLength); // our hello
        return codec;
    }

    private static byte[] Payload(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16 * 1024)]
    [InlineData(300 * 1024)]
    public void A_bulk_reply_is_encoded_as_Send_encodes_it(int length)
    {
        var header = new BulkPacketHeader(0x81, UsbStatus.Success, (uint)length, 0);
        var payload = Payload(length);
        var viaSend = HostAfterHello();
        viaSend.Send(42, header, payload);
        var viaSendTo = HostAfterHello();
        var destination = new ArrayBufferWriter<byte>();

        Assert.True(viaSendTo.SendTo(destination, 42, header, payload));

        Assert.Equal(viaSend.PendingOutput.ToArray(), destination.WrittenSpan.ToArray());
        Assert.Equal(0, viaSendTo.PendingOutputLength);
    }

    [Fact]
    public void Header_only_and_control_packets_match_Send_too()
    {
        var control = new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x0100, 0, 18);
        var viaSend = HostAfterHello();
        viaSend.Send(7, control, Payload(18));
        viaSend.Send(8, new InterruptPacketHeader(0x83, UsbStatus.Stall, 0));
        var viaSendTo = HostAfterHello();
        var destination = new ArrayBufferWriter<byte>();

        Assert.True(viaSendTo.SendTo(destination, 7, control, Payload(18)));
        Assert.True(viaSendTo.SendTo(destination, 8, new InterruptPacketHeader(0x83, UsbStatus.Stall, 0)));

        Assert.Equal(viaSend.PendingOutput.ToArray(), destination.WrittenSpan.ToArray());
    }

    [Fact]
    public void Before_the_peers_hello_the_packet_waits_for_it_as_with_Send()
    {
        var codec = new UsbRedirCodec(UsbRedirRole.UsbHost, UsbRedirCapabilities.All, "test");
        var helloLength = codec.PendingOutputLength;
        var destination = new ArrayBufferWriter<byte>();

        Assert.False(codec.SendTo(destination, 1, new BulkPacketHeader(0x81, UsbStatus.Success, 4, 0), Payload(4)));

        Assert.Equal(0, destination.WrittenCount);
        Assert.Equal(1, codec.QueuedPacketCount);
        codec.Receive(CodecHarness.PeerHello(UsbRedirCapabilities.All));
        Assert.Equal(0, codec.QueuedPacketCount);
        Assert.True(codec.PendingOutputLength > helloLength); // encoded behind our hello, for the negotiated caps
    }

    [Fact]
    public void Behind_pending_output_the_packet_joins_it_so_nothing_overtakes()
    {
        var codec = HostAfterHello();
        codec.Send(1, new InterruptPacketHeader(0x83, UsbStatus.Success, 0));
        var first = codec.PendingOutputLength;
        var destination = new ArrayBufferWriter<byte>();

        Assert.False(codec.SendTo(destination, 2, new BulkPacketHeader(0x81, UsbStatus.Success, 4, 0), Payload(4)));

        Assert.Equal(0, destination.WrittenCount);
        Assert.True(codec.PendingOutputLength > first);
    }

    [Fact]
    public void A_broken_packet_is_refused_and_nothing_is_written()
    {
        var codec = AfterHello(UsbRedirRole.UsbGuest); // set_configuration is a guest's packet; it carries no payload
        var destination = new ArrayBufferWriter<byte>();

        var e = Assert.Throws<UsbRedirProtocolException>(() =>
            codec.SendTo(destination, 3, new SetConfigurationHeader(1), Payload(1)));

        Assert.Equal(UsbRedirViolation.UnexpectedExtraData, e.Violation);
        Assert.Equal(0, destination.WrittenCount);
    }
}
