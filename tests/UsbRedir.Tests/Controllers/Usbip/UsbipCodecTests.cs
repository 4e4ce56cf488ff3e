using System.Buffers.Binary;
using UsbRedir.Controllers.Usbip;

namespace UsbRedir.Tests.Controllers.Usbip;

public sealed class UsbipCodecTests
{
    // The capture in Linux 6.1 Documentation/usb/usbip_protocol.rst ("Example"): an interrupt IN and OUT URB and the
    // stub driver's replies, byte for byte.
    private const string CmdIntrIn = "00000001 00000d05 0001000f 00000001 00000001 00000200 00000040 ffffffff 00000000 00000004 00000000 00000000";
    private const string CmdIntrOut = "00000001 00000d06 0001000f 00000000 00000001 00000000 00000040 ffffffff 00000000 00000004 00000000 00000000";
    private const string OutData = "ffffffff860008a784ce5ae212376300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    private const string RetIntrOut = "00000003 00000d06 00000000 00000000 00000000 00000000 00000040 ffffffff 00000000 00000000 00000000 00000000";
    private const string RetIntrIn = "00000003 00000d05 00000000 00000000 00000000 00000000 00000040 ffffffff 00000000 00000000 00000000 00000000";
    private const string InData = "ffffffff860011a784ce5ae2123763612891b1020100000400000000000000000000000000000000000000000000000000000000000000000000000000000000";

    private static UsbipCommandDecoder Decoder(params byte[] isoEndpoints) => new(ep => isoEndpoints.Contains(ep));

    [Fact]
    public void Decodes_the_documented_capture_and_answers_it_byte_for_byte()
    {
        var stream = UsbipWire.Hex(CmdIntrIn + CmdIntrOut + OutData);
        var events = Decoder().Receive(stream).ToArray();

        Assert.Equal(2, events.Length);
        var inUrb = Assert.IsType<UsbipSubmitCommand>(events[0]);
        Assert.Equal((0xd05u, 0x0001000fu, true, 1u, 0x81), (inUrb.Seqnum, inUrb.DeviceId, inUrb.DirectionIn, inUrb.EndpointNumber, (int)inUrb.EndpointAddress));
        Assert.Equal((UsbipTransferFlags.DirectionIn, 64, -1, 0, 4), (inUrb.TransferFlags, inUrb.TransferBufferLength, inUrb.StartFrame, inUrb.NumberOfPackets, inUrb.Interval));
        Assert.True(inUrb.OutData.IsEmpty);
        var outUrb = Assert.IsType<UsbipSubmitCommand>(events[1]);
        Assert.Equal((0xd06u, false, 64), (outUrb.Seqnum, outUrb.DirectionIn, outUrb.TransferBufferLength));
        Assert.Equal(UsbipWire.Hex(OutData), outUrb.OutData.ToArray());

        Assert.Equal(UsbipWire.Hex(RetIntrIn + InData), UsbipReplyEncoder.EncodeRetSubmit(inUrb, 0, 64, UsbipWire.Hex(InData)));
        Assert.Equal(UsbipWire.Hex(RetIntrOut), UsbipReplyEncoder.EncodeRetSubmit(outUrb, 0, 64, default));
    }

    [Fact]
    public void Any_split_of_the_stream_gives_the_same_events()
    {
        var setup = new byte[] { 0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00 };
        var stream = UsbipWire.CmdSubmit(7, true, 0, 18, setup)
            .Concat(UsbipWire.CmdSubmit(8, false, 2, 5, outData: [1, 2, 3, 4, 5]))
            .Concat(UsbipWire.CmdUnlink(9, 8))
            .Concat(UsbipWire.CmdSubmit(10, true, 3, 9, iso: [(0, 3), (3, 3), (6, 3)]))
            .ToArray();
        var whole = Describe(Decoder(0x83).Receive(stream));
        for (var chunk = 1; chunk <= 50; chunk += 7)
        {
            var decoder = Decoder(0x83);
            var parts = new List<string>();
            for (var i = 0; i < stream.Length; i += chunk)
                parts.AddRange(Describe(decoder.Receive(stream.AsSpan(i, Math.Min(chunk, stream.Length - i)))));
            Assert.Equal(whole, parts);
            Assert.Equal(0, decoder.BufferedBytes);
        }
        Assert.Equal(4, whole.Count);
        Assert.Contains("submit 7 in ep0 len 18 setup bmRequestType=0x80 bRequest=0x06 wValue=0x0100 wIndex=0x0000 wLength=18 data  iso ", whole);
        Assert.Contains("submit 8 out ep2 len 5 setup bmRequestType=0x00 bRequest=0x00 wValue=0x0000 wIndex=0x0000 wLength=0 data 0102030405 iso ", whole);
        Assert.Contains("unlink 9 -> 8", whole);
        Assert.Contains("submit 10 in ep3 len 9 setup bmRequestType=0x00 bRequest=0x00 wValue=0x0000 wIndex=0x0000 wLength=0 data  iso 0+3,3+3,6+3", whole);
    }

    [Fact]
    public void Iso_descriptors_are_read_only_for_isochronous_endpoints()
    {
        // The same bytes on a bulk endpoint: number_of_packets is not a descriptor count there, so the next PDU follows at once.
        var stream = UsbipWire.CmdSubmit(1, true, 3, 9, packets: 3).Concat(UsbipWire.CmdUnlink(2, 1)).ToArray();
        var events = Decoder().Receive(stream);
        Assert.Equal(2, events.Count);
        Assert.False(Assert.IsType<UsbipSubmitCommand>(events[0]).IsIsochronous);
        Assert.IsType<UsbipUnlinkCommand>(events[1]);
    }

    public static TheoryData<string, byte[]> MalformedStreams => new()
    {
        { "unknown USB/IP command 0x00000009", WithWord(UsbipWire.CmdUnlink(1, 1), 0, 9) },
        { "received RetSubmit (seqnum 1), which only a server sends", WithWord(UsbipWire.CmdUnlink(1, 1), 0, 3) },
        { "direction 2 is neither 0 (OUT) nor 1 (IN)", WithWord(UsbipWire.CmdSubmit(1, true, 1, 8), 12, 2) },
        { "endpoint number 16 is above 15", WithWord(UsbipWire.CmdSubmit(1, true, 1, 8), 16, 16) },
        { "transfer_buffer_length -1 is outside 0..67108864", WithWord(UsbipWire.CmdSubmit(1, true, 1, 8), 24, uint.MaxValue) },
        { "transfer_buffer_length 67108865 is outside", WithWord(UsbipWire.CmdSubmit(1, true, 1, 8), 24, 64 * 1024 * 1024 + 1) },
        { "isochronous number_of_packets 1025 is outside 0..1024", WithWord(UsbipWire.CmdSubmit(1, true, 3, 8), 32, 1025) },
        { "isochronous number_of_packets -1 is outside", WithWord(UsbipWire.CmdSubmit(1, true, 3, 8), 32, uint.MaxValue) },
        { "iso packet 1 (offset 6, length 3) lies outside the 8-byte transfer buffer", UsbipWire.CmdSubmit(1, true, 3, 8, iso: [(0, 3), (6, 3)]) },
    };

    [Theory]
    [MemberData(nameof(MalformedStreams))]
    public void A_malformed_pdu_is_reported_once_and_stops_the_decoder(string expected, byte[] bad)
    {
        var good = UsbipWire.CmdUnlink(5, 4);
        var decoder = Decoder(0x83);
        var events = decoder.Receive([.. good, .. bad, .. good]);

        Assert.Equal(2, events.Count);
        Assert.IsType<UsbipUnlinkCommand>(events[0]);
        var error = Assert.IsType<UsbipMalformedStream>(events[1]);
        Assert.Contains(expected, error.Message);
        Assert.Equal(48, error.StreamOffset);
        Assert.True(decoder.IsFaulted);
        Assert.Empty(decoder.Receive(good));
    }

    [Fact]
    public void A_huge_length_is_refused_from_the_header_before_any_payload_is_gathered()
    {
        var decoder = Decoder();
        var header = WithWord(UsbipWire.CmdSubmit(1, false, 2, 0), 24, int.MaxValue);
        Assert.IsType<UsbipMalformedStream>(Assert.Single(decoder.Receive(header)));
        Assert.Equal(0, decoder.BufferedBytes);
    }

    [Fact]
    public void Ret_submit_never_carries_more_than_requested()
    {
        var request = Submit(UsbipWire.CmdSubmit(3, true, 1, 8));
        var e = Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeRetSubmit(request, 0, 9, new byte[9]));
        Assert.Equal("UsbipReplyInvalid", e.ErrorId);
        Assert.Contains("actual_length 9 is outside 0..8", e.Message);
        Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeRetSubmit(request, 0, 4, new byte[3]));

        var reply = UsbipWire.ParseRet(UsbipReplyEncoder.EncodeRetSubmit(request, -32, 2, new byte[] { 9, 8, 7 }), true, false);
        Assert.Equal((3u, 3u, -32, 2), (reply.Command, reply.Seqnum, reply.Status, reply.ActualLength));
        Assert.Equal(new byte[] { 9, 8 }, reply.Data);
    }

    [Fact]
    public void A_reply_built_in_place_equals_the_copied_one()
    {
        var request = Submit(UsbipWire.CmdSubmit(3, true, 1, 8));
        var pdu = new byte[100];
        pdu.AsSpan().Fill(0xEE);
        new byte[] { 1, 2, 3 }.CopyTo(pdu, 48);
        var length = UsbipReplyEncoder.EncodeRetSubmitInPlace(request, 0, 3, pdu);
        Assert.Equal(UsbipReplyEncoder.EncodeRetSubmit(request, 0, 3, new byte[] { 1, 2, 3 }), pdu[..length]);
        Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeRetSubmitInPlace(request, 0, 3, new byte[50]));
        Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeRetSubmitInPlace(request, 0, 9, pdu));
    }

    [Fact]
    public void Iso_replies_are_packed_and_their_lengths_add_up()
    {
        var request = Submit(UsbipWire.CmdSubmit(4, true, 3, 12, iso: [(0, 4), (4, 4), (8, 4)]), 0x83);
        var pdu = UsbipReplyEncoder.EncodeIsoRetSubmit(request, 0,
            [new(0, 0, 4, 0), new(0, 0, 1, 0), new(0, 0, 0, -18)], new byte[] { 1, 2, 3, 4, 5 }, startFrame: 17);
        var reply = UsbipWire.ParseRet(pdu, true, true);

        Assert.Equal((5, 3, 1, 17), (reply.ActualLength, reply.Packets, reply.ErrorCount, reply.StartFrame));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, reply.Data);
        Assert.Equal([(0u, 4u, 4u, 0), (4u, 4u, 1u, 0), (8u, 4u, 0u, -18)], reply.Iso);
        Assert.Equal(48 + 5 + 3 * 16, pdu.Length);

        // Every way vhci_hcd would tear the connection down is refused instead.
        Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeIsoRetSubmit(request, 0, [new(0, 0, 4, 0)], new byte[4], 0));
        Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeIsoRetSubmit(request, 0,
            [new(0, 0, 5, 0), new(0, 0, 0, 0), new(0, 0, 0, 0)], new byte[5], 0));
        Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeIsoRetSubmit(request, 0,
            [new(0, 0, 4, 0), new(0, 0, 0, 0), new(0, 0, 0, 0)], new byte[3], 0));
        Assert.Throws<UsbRedirException>(() => UsbipReplyEncoder.EncodeRetSubmit(request, 0, 0, default));
    }

    [Fact]
    public void Iso_out_reply_has_descriptors_only_and_actual_length_is_their_sum()
    {
        var request = Submit(UsbipWire.CmdSubmit(6, false, 3, 6, outData: new byte[6], iso: [(0, 3), (3, 3)]), 0x03);
        var reply = UsbipWire.ParseRet(UsbipReplyEncoder.EncodeIsoRetSubmit(request, 0, [new(0, 0, 3, 0), new(0, 0, 2, 0)], default, 0), false, true);
        Assert.Equal(5, reply.ActualLength);
        Assert.Empty(reply.Data);
        Assert.Equal(2, reply.Iso.Length);
    }

    [Fact]
    public void Ret_unlink_carries_the_unlink_seqnum_and_status()
    {
        var pdu = UsbipReplyEncoder.EncodeRetUnlink(0x1234, -104);
        Assert.Equal(48, pdu.Length);
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32BigEndian(pdu));
        Assert.Equal(0x1234u, BinaryPrimitives.ReadUInt32BigEndian(pdu.AsSpan(4)));
        Assert.Equal(-104, BinaryPrimitives.ReadInt32BigEndian(pdu.AsSpan(20)));
        Assert.All(pdu.AsSpan(24).ToArray(), b => Assert.Equal(0, b));
    }

    private static UsbipSubmitCommand Submit(byte[] pdu, params byte[] isoEndpoints) =>
        Assert.IsType<UsbipSubmitCommand>(Assert.Single(Decoder(isoEndpoints).Receive(pdu)));

    private static byte[] WithWord(byte[] pdu, int offset, uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(offset), value);
        return pdu;
    }

    private static List<string> Describe(IEnumerable<UsbipEvent> events) => events.Select(e => e switch
    {
        UsbipSubmitCommand s => $"submit {s.Seqnum} {(s.DirectionIn ? "in" : "out")} ep{s.EndpointNumber} len {s.TransferBufferLength} " +
                                $"setup {s.Setup} data {Convert.ToHexString(s.OutData.Span).ToLowerInvariant()} " +
                                $"iso {string.Join(",", s.IsoPackets.Select(p => $"{p.Offset}+{p.Length}"))}",
        UsbipUnlinkCommand u => $"unlink {u.Seqnum} -> {u.UnlinkSeqnum}",
        _ => e.ToString()!,
    }).ToList();
}
