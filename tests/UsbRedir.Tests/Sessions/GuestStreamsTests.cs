using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>The usb-guest role's USB 3 bulk streams against a scripted usb-host: what goes on the wire, and what is refused before it.</summary>
public sealed class GuestStreamsTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;
    private const uint BothEndpoints = (1u << 1) | (1u << 17);

    private static async Task<(UsbRedirGuestSession Guest, ScriptedPeer Host, RemoteUsbDevice Remote)> AttachAsync(
        UsbRedirCapabilities hostCaps, uint bulkStreams, UsbRedirGuestOptions? options = null)
    {
        var (host, guestSide) = await ScriptedPeer.ConnectHostAsync(hostCaps);
        var guest = new UsbRedirGuestSession(ByteStreamConnection.FromSocket(guestSide), new SessionLog(), options);
        guest.Start();
        var remote = await ScriptedHostDevice.AttachAsync(host, guest, h => ScriptedHostDevice.Announce(h, bulkStreams));
        return (guest, host, remote);
    }

    [Fact]
    public async Task The_guest_offers_cap_0_and_sends_alloc_free_and_stream_packets_the_host_answers()
    {
        var (guest, host, remote) = await AttachAsync(UsbRedirCapabilities.All, bulkStreams: 16);
        await using var _g = guest;
        await using var _h = host;
        Assert.True(host.Codec.PeerCapabilities!.Value.HasFlag(UsbRedirCapabilities.BulkStreams));

        // More than ep_info offers is asked for as what it offers, as an xHCI driver would grant.
        var alloc = remote.AllocateStreamsAsync([0x01, 0x81], 32, default);
        var request = await host.ExpectAsync(T.AllocBulkStreams);
        Assert.Equal(new AllocBulkStreamsHeader(BothEndpoints, 16), request.As<AllocBulkStreamsHeader>());
        host.Send(request.Id, new BulkStreamsStatusHeader(BothEndpoints, 16, UsbStatus.Success));
        Assert.Equal(new UsbStreamsResult(UsbStatus.Success, 16), await alloc.WaitAsync(Quick));

        var buffer = new byte[64];
        var read = remote.StreamTransferAsync(0x81, 4, buffer, default);
        var bulk = await host.ExpectAsync(T.BulkPacket);
        Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Success, 64, 4), bulk.As<BulkPacketHeader>());
        host.Send(bulk.Id, new BulkPacketHeader(0x81, UsbStatus.Success, 3, 4), [4, 4, 4]);
        Assert.Equal(UsbTransferResult.Ok(3), await read.WaitAsync(Quick));
        Assert.Equal(new byte[] { 4, 4, 4 }, buffer[..3]);

        var free = remote.FreeStreamsAsync([0x01, 0x81], default);
        var freeRequest = await host.ExpectAsync(T.FreeBulkStreams);
        Assert.Equal(new FreeBulkStreamsHeader(BothEndpoints), freeRequest.As<FreeBulkStreamsHeader>());
        host.Send(freeRequest.Id, new BulkStreamsStatusHeader(BothEndpoints, 0, UsbStatus.Success));
        Assert.Equal(UsbStatus.Success, await free.WaitAsync(Quick));

        // The host's refusal comes back as it was sent.
        var refused = remote.AllocateStreamsAsync([0x81], 2, default);
        var second = await host.ExpectAsync(T.AllocBulkStreams);
        host.Send(second.Id, new BulkStreamsStatusHeader(1u << 17, 2, UsbStatus.IoError));
        Assert.Equal(new UsbStreamsResult(UsbStatus.IoError, 0), await refused.WaitAsync(Quick));
    }

    [Fact]
    public async Task What_ep_info_cannot_carry_is_refused_locally_with_the_reason()
    {
        var (guest, host, remote) = await AttachAsync(UsbRedirCapabilities.All, bulkStreams: 4);
        await using var _g = guest;
        await using var _h = host;

        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await remote.AllocateStreamsAsync([0x82], 2, default)); // interrupt endpoint
        Assert.Contains(guest.Log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("0x82 is not a bulk endpoint with streams"));
        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await remote.AllocateStreamsAsync([0x81], 0, default));
        Assert.Equal(UsbStatus.Invalid, (await remote.StreamTransferAsync(0x81, 5, new byte[8], default)).Status);
        Assert.Contains(guest.Log.Entries, e => e.Message.Contains("stream 5 does not exist on endpoint 0x81, which offers 4"));
        Assert.True(await host.NothingWithinAsync(TimeSpan.FromMilliseconds(200))); // none of it reached the wire
    }

    [Fact]
    public async Task Without_cap_0_on_the_host_streams_are_refused_locally_and_stream_0_still_works()
    {
        var (guest, host, remote) = await AttachAsync(UsbRedirCapabilities.All & ~UsbRedirCapabilities.BulkStreams, bulkStreams: 16);
        await using var _g = guest;
        await using var _h = host;

        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await remote.AllocateStreamsAsync([0x01, 0x81], 4, default));
        Assert.Equal(UsbStatus.Invalid, await remote.FreeStreamsAsync([0x01, 0x81], default));
        Assert.Equal(UsbStatus.Invalid, (await remote.StreamTransferAsync(0x01, 1, new byte[8], default)).Status);
        Assert.Contains(guest.Log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("does not support bulk streams"));
        Assert.True(await host.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));

        var write = remote.StreamTransferAsync(0x01, 0, new byte[] { 1, 2 }, default);
        var bulk = await host.ExpectAsync(T.BulkPacket);
        Assert.Equal(new BulkPacketHeader(0x01, UsbStatus.Success, 2, 0), bulk.As<BulkPacketHeader>());
        ScriptedHostDevice.Answer(host, bulk);
        Assert.Equal(UsbTransferResult.Ok(2), await write.WaitAsync(Quick));
    }

    [Fact]
    public async Task An_unanswered_alloc_times_out()
    {
        var options = new UsbRedirGuestOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) };
        var (guest, host, remote) = await AttachAsync(UsbRedirCapabilities.All, bulkStreams: 16, options);
        await using var _g = guest;
        await using var _h = host;
        var alloc = remote.AllocateStreamsAsync([0x81], 2, default);
        await host.ExpectAsync(T.AllocBulkStreams);
        Assert.Equal(new UsbStreamsResult(UsbStatus.Timeout, 0), await alloc.WaitAsync(Quick));
    }
}
