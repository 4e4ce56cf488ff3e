using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>The usb-host role's USB 3 bulk streams against a scripted usb-guest, rule by rule as usbredirhost has them.</summary>
public sealed class HostStreamsTests
{
    /// <summary>ep_info index bitmask of bulk OUT 0x01 and bulk IN 0x81.</summary>
    private const uint BothEndpoints = (1u << 1) | (1u << 17);

    private static async Task<(UsbRedirHostSession Host, ScriptedPeer Guest, StreamsTestDevice Device)> StartAsync(
        UsbRedirCapabilities guestCaps = UsbRedirCapabilities.All)
    {
        var device = new StreamsTestDevice();
        var (guest, hostSide) = await ScriptedPeer.ConnectAsync(guestCaps);
        var host = new UsbRedirHostSession(device, ByteStreamConnection.FromSocket(hostSide), new SessionLog());
        host.Start();
        await guest.ExpectAnnouncementAsync();
        return (host, guest, device);
    }

    /// <summary>set_configuration(1): the layout (with 16 streams per endpoint in ep_info) and then the status.</summary>
    private static async Task ConfigureAsync(ScriptedPeer guest)
    {
        guest.Send(1, new SetConfigurationHeader(1));
        await guest.ExpectAsync(T.InterfaceInfo);
        var ep = (await guest.ExpectAsync(T.EpInfo)).As<EpInfoHeader>();
        Assert.Equal(16u, ep.MaxStreams![EpInfoHeader.IndexOf(0x01)]);
        Assert.Equal(16u, ep.MaxStreams[EpInfoHeader.IndexOf(0x81)]);
        Assert.Equal((ushort)1024, ep.MaxPacketSizes![EpInfoHeader.IndexOf(0x81)]);
        Assert.Equal(UsbStatus.Success, (await guest.ExpectAsync(T.ConfigurationStatus)).As<ConfigurationStatusHeader>().Status);
    }

    private static async Task<BulkStreamsStatusHeader> AllocateAsync(ScriptedPeer guest, ulong id, uint mask, uint streams)
    {
        guest.Send(id, new AllocBulkStreamsHeader(mask, streams));
        var reply = await guest.ExpectAsync(T.BulkStreamsStatus);
        Assert.Equal(id, reply.Id);
        return reply.As<BulkStreamsStatusHeader>();
    }

    private static async Task<(BulkPacketHeader Header, byte[] Data)> BulkAsync(ScriptedPeer guest, ulong id, byte endpoint, uint stream, byte[] data, uint inLength = 0)
    {
        var isIn = (endpoint & 0x80) != 0;
        guest.Send(id, new BulkPacketHeader(endpoint, UsbStatus.Success, isIn ? inLength : (uint)data.Length, stream), isIn ? default : data);
        var reply = await guest.ExpectAsync(T.BulkPacket);
        Assert.Equal(id, reply.Id);
        return (reply.As<BulkPacketHeader>(), reply.Payload);
    }

    [Fact]
    public async Task Cap_0_is_offered_exactly_for_devices_with_stream_endpoints()
    {
        Assert.True(UsbRedirHostSession.CapabilitiesFor(new StreamsTestDevice()).HasFlag(UsbRedirCapabilities.BulkStreams));
        Assert.Equal(UsbRedirHostSession.HostCapabilities, UsbRedirHostSession.CapabilitiesFor(new LoopbackTestDevice()));
        Assert.False(UsbRedirHostSession.HostCapabilities.HasFlag(UsbRedirCapabilities.BulkStreams));

        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        Assert.Equal(UsbRedirHostSession.HostCapabilities | UsbRedirCapabilities.BulkStreams, guest.Codec.PeerCapabilities);
        Assert.True(guest.Codec.IsNegotiated(UsbRedirCapabilities.BulkStreams)); // so ep_info carried max_streams above
        await ConfigureAsync(guest);
    }

    [Fact]
    public async Task Alloc_is_echoed_and_streams_carry_their_own_data_until_freed()
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ConfigureAsync(guest);

        Assert.Equal(new BulkStreamsStatusHeader(BothEndpoints, 16, UsbStatus.Success), await AllocateAsync(guest, 2, BothEndpoints, 16));
        Assert.Equal([(0x01, 16), (0x81, 16)], device.StreamChanges);
        Assert.Equal(UsbStatus.Invalid, (await BulkAsync(guest, 29, 0x01, 0, [1])).Header.Status); // streams only, now

        // A read on stream 3 waits for its data while stream 5 goes past it.
        guest.Send(30, new BulkPacketHeader(0x81, UsbStatus.Success, 64, 3));
        var (out5, _) = await BulkAsync(guest, 31, 0x01, 5, "on five"u8.ToArray());
        Assert.Equal(new BulkPacketHeader(0x01, UsbStatus.Success, 7, 5), out5);
        var (in5, data5) = await BulkAsync(guest, 32, 0x81, 5, [], inLength: 64);
        Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Success, 7, 5), in5);
        Assert.Equal("on five"u8.ToArray(), data5);
        guest.Send(33, new BulkPacketHeader(0x01, UsbStatus.Success, 3, 3), "3!3"u8);
        var replies = new[] { await guest.ExpectAsync(T.BulkPacket), await guest.ExpectAsync(T.BulkPacket) };
        var in3 = Assert.Single(replies, r => r.Id == 30);
        Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Success, 3, 3), in3.As<BulkPacketHeader>());
        Assert.Equal("3!3"u8.ToArray(), in3.Payload);

        // A waiting stream read can be cancelled like any bulk packet.
        guest.Send(40, new BulkPacketHeader(0x81, UsbStatus.Success, 64, 9));
        await Eventually.TrueAsync(() => host.PendingTransferCount == 1, "the stream read is pending");
        guest.Do(c => c.SendCancelDataPacket(40));
        var cancelled = await guest.ExpectAsync(T.BulkPacket);
        Assert.Equal(40ul, cancelled.Id);
        Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Cancelled, 0, 9), cancelled.As<BulkPacketHeader>());

        guest.Send(50, new FreeBulkStreamsHeader(BothEndpoints));
        var freed = await guest.ExpectAsync(T.BulkStreamsStatus);
        Assert.Equal(50ul, freed.Id);
        Assert.Equal(new BulkStreamsStatusHeader(BothEndpoints, 0, UsbStatus.Success), freed.As<BulkStreamsStatusHeader>());
        Assert.Equal(UsbStatus.Invalid, (await BulkAsync(guest, 51, 0x01, 5, [1])).Header.Status);
        guest.Send(52, new FreeBulkStreamsHeader(BothEndpoints));
        Assert.Equal(UsbStatus.Invalid, (await guest.ExpectAsync(T.BulkStreamsStatus)).As<BulkStreamsStatusHeader>().Status);
    }

    [Fact]
    public async Task Fewer_streams_than_asked_for_is_an_ioerror_and_leaves_none_allocated()
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ConfigureAsync(guest);

        Assert.Equal(new BulkStreamsStatusHeader(BothEndpoints, 64, UsbStatus.IoError), await AllocateAsync(guest, 2, BothEndpoints, 64));
        Assert.Equal(0, device.AllocatedStreams(0x81));
        Assert.Equal(new BulkStreamsStatusHeader(BothEndpoints, 8, UsbStatus.Success), await AllocateAsync(guest, 3, BothEndpoints, 8));
        // An endpoint the device does not have, or none at all, is the device's to refuse: inval.
        Assert.Equal(UsbStatus.Invalid, (await AllocateAsync(guest, 4, 1u << 2, 4)).Status);
        Assert.Equal(UsbStatus.Invalid, (await AllocateAsync(guest, 5, 0, 4)).Status);
    }

    [Fact]
    public async Task A_stream_id_without_allocation_gets_inval_as_the_kernel_answers_usbredirhost()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ConfigureAsync(guest);

        Assert.Equal(new BulkPacketHeader(0x01, UsbStatus.Invalid, 0, 2), (await BulkAsync(guest, 9, 0x01, 2, [1, 2])).Header);
        Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Invalid, 0, 2), (await BulkAsync(guest, 10, 0x81, 2, [], inLength: 8)).Header);
        // Stream 0 is the plain pipe and works without any allocation.
        Assert.Equal(UsbStatus.Success, (await BulkAsync(guest, 11, 0x01, 0, [7])).Header.Status);
        Assert.Equal([7], (await BulkAsync(guest, 12, 0x81, 0, [], inLength: 8)).Data);
    }

    [Theory]
    [InlineData("reset")]
    [InlineData("set_configuration")]
    [InlineData("set_alt_setting")]
    public async Task Reset_configuration_and_alt_setting_changes_free_the_streams(string change)
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ConfigureAsync(guest);
        Assert.Equal(UsbStatus.Success, (await AllocateAsync(guest, 2, BothEndpoints, 4)).Status);
        guest.Send(20, new BulkPacketHeader(0x81, UsbStatus.Success, 64, 1)); // waits: nothing written on stream 1
        await Eventually.TrueAsync(() => host.PendingTransferCount == 1, "the stream read is pending");

        switch (change)
        {
            case "reset":
                guest.Do(c => c.SendReset());
                Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Cancelled, 0, 1), (await guest.ExpectAsync(T.BulkPacket)).As<BulkPacketHeader>());
                await Eventually.TrueAsync(() => device.ActiveConfiguration == 0, "the device was reset");
                await ConfigureAsync(guest);
                break;
            case "set_configuration":
                guest.Send(3, new SetConfigurationHeader(0));
                Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Cancelled, 0, 1), (await guest.ExpectAsync(T.BulkPacket)).As<BulkPacketHeader>());
                await guest.ExpectAsync(T.InterfaceInfo);
                await guest.ExpectAsync(T.EpInfo);
                await guest.ExpectAsync(T.ConfigurationStatus);
                await ConfigureAsync(guest);
                break;
            case "set_alt_setting":
                guest.Send(3, new SetAltSettingHeader(0, 1));
                // The device cancels the interface's transfers itself, so their answers may come before or among the layout.
                var answers = new List<ScriptedPeer.Received>();
                for (var i = 0; i < 4; i++)
                    answers.Add(await guest.NextAsync());
                var bulk = Assert.Single(answers, a => a.Type == T.BulkPacket);
                Assert.Equal(new BulkPacketHeader(0x81, UsbStatus.Cancelled, 0, 1), bulk.As<BulkPacketHeader>());
                answers.Remove(bulk);
                Assert.Equal([T.InterfaceInfo, T.EpInfo, T.AltSettingStatus], answers.Select(a => a.Type));
                Assert.Equal(0u, answers[1].As<EpInfoHeader>().MaxStreams![EpInfoHeader.IndexOf(0x81)]); // alternate setting 1 has no streams
                Assert.Equal(new AltSettingStatusHeader(UsbStatus.Success, 0, 1), answers[2].As<AltSettingStatusHeader>());
                Assert.Equal(UsbStatus.Invalid, (await AllocateAsync(guest, 4, BothEndpoints, 4)).Status);
                guest.Send(5, new SetAltSettingHeader(0, 0));
                await guest.ExpectAsync(T.InterfaceInfo);
                await guest.ExpectAsync(T.EpInfo);
                await guest.ExpectAsync(T.AltSettingStatus);
                break;
        }
        Assert.Equal(0, device.AllocatedStreams(0x81));
        Assert.Equal(UsbStatus.Invalid, (await BulkAsync(guest, 21, 0x01, 1, [1])).Header.Status);
        Assert.Equal(UsbStatus.Success, (await AllocateAsync(guest, 6, BothEndpoints, 4)).Status);
    }

    [Fact]
    public async Task Alloc_while_the_device_is_gone_is_an_ioerror()
    {
        var (host, guest, device) = await StartAsync(UsbRedirCapabilities.All & ~UsbRedirCapabilities.DeviceDisconnectAck);
        await using var _h = host;
        await using var _g = guest;
        await ConfigureAsync(guest);
        await device.DisposeAsync();
        await guest.ExpectAsync(T.DeviceDisconnect);
        Assert.Equal(new BulkStreamsStatusHeader(BothEndpoints, 4, UsbStatus.IoError), await AllocateAsync(guest, 2, BothEndpoints, 4));
        guest.Send(3, new FreeBulkStreamsHeader(BothEndpoints));
        Assert.Equal(new BulkStreamsStatusHeader(BothEndpoints, 0, UsbStatus.IoError), (await guest.ExpectAsync(T.BulkStreamsStatus)).As<BulkStreamsStatusHeader>());
    }
}
