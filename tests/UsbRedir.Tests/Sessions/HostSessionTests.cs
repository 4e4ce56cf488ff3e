using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

public class HostSessionTests
{
    private static async Task<(UsbRedirHostSession Host, ScriptedPeer Guest, LoopbackTestDevice Device)> StartAsync(
        UsbRedirCapabilities guestCaps = UsbRedirCapabilities.All & ~UsbRedirCapabilities.BulkStreams)
    {
        var device = new LoopbackTestDevice();
        var (guest, hostSide) = await ScriptedPeer.ConnectAsync(guestCaps);
        var host = new UsbRedirHostSession(device, ByteStreamConnection.FromSocket(hostSide), new SessionLog());
        host.Start();
        return (host, guest, device);
    }

    private static async Task ExpectAnnouncementAsync(ScriptedPeer guest)
    {
        var info = (await guest.ExpectAsync(T.InterfaceInfo)).As<InterfaceInfoHeader>();
        Assert.Equal(0u, info.InterfaceCount); // unconfigured until the guest sets a configuration
        await guest.ExpectAsync(T.EpInfo);
        var connect = (await guest.ExpectAsync(T.DeviceConnect)).As<DeviceConnectHeader>();
        Assert.Equal(UsbSpeed.High, connect.Speed);
        Assert.Equal((ushort)0x1234, connect.VendorId);
        Assert.Equal((ushort)0x5678, connect.ProductId);
        Assert.Equal((ushort)0x0201, connect.DeviceVersionBcd);
    }

    /// <summary>set_configuration(1) and the host's answer: interface_info and ep_info of the loopback test device, then the status.</summary>
    internal static async Task ConfigureAsync(ScriptedPeer guest)
    {
        guest.Send(7, new SetConfigurationHeader(1));
        var info = (await guest.ExpectAsync(T.InterfaceInfo)).As<InterfaceInfoHeader>();
        Assert.Equal(1u, info.InterfaceCount);
        Assert.Equal(0xFF, info.InterfaceClasses[0]);
        var ep = (await guest.ExpectAsync(T.EpInfo)).As<EpInfoHeader>();
        Assert.Equal((byte)UsbEndpointType.Bulk, ep.Types[EpInfoHeader.IndexOf(0x81)]);
        Assert.Equal((byte)UsbEndpointType.Interrupt, ep.Types[EpInfoHeader.IndexOf(0x82)]);
        Assert.Equal((ushort)512, ep.MaxPacketSizes![EpInfoHeader.IndexOf(0x01)]);
        var status = await guest.ExpectAsync(T.ConfigurationStatus);
        Assert.Equal(7ul, status.Id);
        Assert.Equal(new ConfigurationStatusHeader(UsbStatus.Success, 1), status.As<ConfigurationStatusHeader>());
    }

    [Fact]
    public async Task Announces_then_answers_descriptors_and_configuration_in_order()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        Assert.Equal(HostDeviceState.Connected, host.DeviceState);

        guest.Send(0x1122334455, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x0100, 0, 64));
        var reply = await guest.ExpectAsync(T.ControlPacket);
        Assert.Equal(0x1122334455ul, reply.Id); // 64-bit ids negotiated
        Assert.Equal(UsbStatus.Success, reply.As<ControlPacketHeader>().Status);
        Assert.Equal(LoopbackTestDevice.Descriptor, reply.Payload);
        Assert.Equal(18, reply.As<ControlPacketHeader>().Length);

        await ConfigureAsync(guest);
        guest.Do(c => c.SendGetConfiguration(9));
        Assert.Equal(new ConfigurationStatusHeader(UsbStatus.Success, 1), (await guest.ExpectAsync(T.ConfigurationStatus)).As<ConfigurationStatusHeader>());

        guest.Send(10, new GetAltSettingHeader(0));
        Assert.Equal(new AltSettingStatusHeader(UsbStatus.Success, 0, 0), (await guest.ExpectAsync(T.AltSettingStatus)).As<AltSettingStatusHeader>());
        guest.Send(11, new GetAltSettingHeader(5));
        Assert.Equal(new AltSettingStatusHeader(UsbStatus.Invalid, 5, 0xFF), (await guest.ExpectAsync(T.AltSettingStatus)).As<AltSettingStatusHeader>());
        guest.Send(12, new SetAltSettingHeader(0, 0));
        await guest.ExpectAsync(T.InterfaceInfo);
        await guest.ExpectAsync(T.EpInfo);
        Assert.Equal(new AltSettingStatusHeader(UsbStatus.Success, 0, 0), (await guest.ExpectAsync(T.AltSettingStatus)).As<AltSettingStatusHeader>());
    }

    [Fact]
    public async Task Bulk_out_and_in_move_data_and_large_transfers_use_32_bit_lengths()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        await ConfigureAsync(guest);

        var data = new byte[200_000];
        new Random(5).NextBytes(data);
        guest.Send(20, new BulkPacketHeader(0x01, UsbStatus.Success, (uint)data.Length, 0), data);
        var outReply = await guest.ExpectAsync(T.BulkPacket);
        Assert.Equal(20ul, outReply.Id);
        Assert.Equal(new BulkPacketHeader(0x01, UsbStatus.Success, (uint)data.Length, 0), outReply.As<BulkPacketHeader>());
        Assert.Empty(outReply.Payload);

        guest.Send(21, new BulkPacketHeader(0x81, UsbStatus.Success, 300_000, 0));
        var inReply = await guest.ExpectAsync(T.BulkPacket);
        Assert.Equal(21ul, inReply.Id);
        Assert.Equal((uint)data.Length, inReply.As<BulkPacketHeader>().Length);
        Assert.Equal(data, inReply.Payload);
        Assert.Equal(2, host.PacketsSent);
    }

    [Fact]
    public async Task Cancel_is_answered_at_once_and_the_late_completion_is_dropped()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        await ConfigureAsync(guest);

        guest.Send(30, new BulkPacketHeader(0x81, UsbStatus.Success, 512, 0)); // nothing to read: stays pending
        // The host's read loop registers the read on its own thread, in its own time: wait for it, not for a fixed moment.
        await Eventually.TrueAsync(() => host.PendingTransferCount == 1, "the host has the read pending");
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(1, host.PendingTransferCount);
        guest.Do(c => c.SendCancelDataPacket(30));
        var cancelled = await guest.ExpectAsync(T.BulkPacket);
        Assert.Equal(30ul, cancelled.Id);
        Assert.Equal(UsbStatus.Cancelled, cancelled.As<BulkPacketHeader>().Status);
        Assert.Equal(0u, cancelled.As<BulkPacketHeader>().Length);

        // The id may be reused at once; the data now flows to the new transfer only.
        guest.Send(30, new BulkPacketHeader(0x81, UsbStatus.Success, 512, 0));
        guest.Send(31, new BulkPacketHeader(0x01, UsbStatus.Success, 3, 0), new byte[] { 1, 2, 3 });
        var first = await guest.NextAsync();
        var second = await guest.NextAsync();
        var reused = first.Id == 30 ? first : second;
        Assert.Equal(new byte[] { 1, 2, 3 }, reused.Payload);
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(0, host.PendingTransferCount);

        // Cancelling a transfer that already completed sends nothing.
        guest.Do(c => c.SendCancelDataPacket(31));
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    /// <summary>
    /// The host reuses its per-transfer records and their cancellation sources. Here each cancel races the device
    /// completing the same transfer on another thread (the OUT data that completes the pending IN read arrives in the
    /// same write as the cancel), with the same ids over and over: each transfer must still be answered exactly once,
    /// and a transfer nobody cancelled must never inherit a cancellation from a record's earlier use.
    /// </summary>
    [Fact]
    public async Task Cancels_racing_completions_answer_once_and_leave_no_cancellation_behind()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        await ConfigureAsync(guest);

        var outcomes = new Dictionary<UsbStatus, int>();
        for (var round = 0; round < 150; round++)
        {
            guest.Send(30, new BulkPacketHeader(0x81, UsbStatus.Success, 512, 0));
            guest.Do(c =>
            {
                c.Send(40, new BulkPacketHeader(0x01, UsbStatus.Success, 4, 0), BitConverter.GetBytes(round));
                c.SendCancelDataPacket(30);
            });
            var answers = new[] { await guest.ExpectAsync(T.BulkPacket), await guest.ExpectAsync(T.BulkPacket) };
            Assert.Equal([30ul, 40ul], answers.Select(a => a.Id).Order());
            var cancelled = answers.Single(a => a.Id == 30).As<BulkPacketHeader>();
            Assert.True(cancelled.Status is UsbStatus.Cancelled or UsbStatus.Success, $"round {round}: {cancelled}");
            outcomes[cancelled.Status] = outcomes.GetValueOrDefault(cancelled.Status) + 1;

            // Not cancelled: it must succeed (it reads this round's data, or what an earlier cancelled read left).
            guest.Send(31, new BulkPacketHeader(0x81, UsbStatus.Success, 512, 0));
            guest.Send(41, new BulkPacketHeader(0x01, UsbStatus.Success, 4, 0), BitConverter.GetBytes(round));
            answers = [await guest.ExpectAsync(T.BulkPacket), await guest.ExpectAsync(T.BulkPacket)];
            Assert.Equal([31ul, 41ul], answers.Select(a => a.Id).Order());
            Assert.All(answers, a => Assert.Equal(UsbStatus.Success, a.As<BulkPacketHeader>().Status));
        }
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)), "no transfer is answered twice");
        Assert.Equal(0, host.PendingTransferCount);
        Assert.Equal(150, outcomes.Values.Sum());
    }

    [Fact]
    public async Task Interrupt_receiving_numbers_packets_from_zero_and_stops_on_request()
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        await ConfigureAsync(guest);

        guest.Send(40, new StartInterruptReceivingHeader(0x82));
        Assert.Equal(new InterruptReceivingStatusHeader(UsbStatus.Success, 0x82), (await guest.ExpectAsync(T.InterruptReceivingStatus)).As<InterruptReceivingStatusHeader>());
        guest.Send(41, new StartInterruptReceivingHeader(0x82));
        Assert.Equal(UsbStatus.Invalid, (await guest.ExpectAsync(T.InterruptReceivingStatus)).As<InterruptReceivingStatusHeader>().Status);
        for (byte i = 0; i < 3; i++)
            device.QueueInterrupt((byte)(0xA0 + i));
        for (ulong i = 0; i < 3; i++)
        {
            var p = await guest.ExpectAsync(T.InterruptPacket);
            Assert.Equal(i, p.Id);
            Assert.Equal(new InterruptPacketHeader(0x82, UsbStatus.Success, 1), p.As<InterruptPacketHeader>());
            Assert.Equal(0xA0 + (int)i, p.Payload[0]);
        }
        guest.Send(42, new StopInterruptReceivingHeader(0x82));
        var stopped = await guest.ExpectAsync(T.InterruptReceivingStatus);
        Assert.Equal(42ul, stopped.Id);
        Assert.Equal(UsbStatus.Success, stopped.As<InterruptReceivingStatusHeader>().Status);

        // A bulk endpoint answers with the status packet of its own type, and a control or absent one not at all: what
        // the real usbredirhost does (UsbHostEdgeVmTests observes it against libusbredirhost: usb-storage step
        // start-interrupt-receiving-on-bulk, usb-kbd start-interrupt-receiving-control; the hand copy had interrupt_receiving_status).
        guest.Send(43, new StartInterruptReceivingHeader(0x81));
        Assert.Equal(new BulkReceivingStatusHeader(0, 0x81, UsbStatus.Stall), (await guest.ExpectAsync(T.BulkReceivingStatus)).As<BulkReceivingStatusHeader>());
        guest.Send(44, new StartInterruptReceivingHeader(0x80));
        guest.Send(45, new StopBulkReceivingHeader(0, 0x83));
        guest.Do(c => c.SendGetConfiguration(46));
        Assert.Equal(46ul, (await guest.ExpectAsync(T.ConfigurationStatus)).Id); // nothing came for 44 and 45 before it
    }

    [Fact]
    public async Task Bad_requests_get_inval_and_clear_halt_is_done_locally()
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        await ConfigureAsync(guest);

        guest.Send(50, new BulkPacketHeader(0x82, UsbStatus.Success, 8, 0)); // interrupt endpoint as bulk
        Assert.Equal(UsbStatus.Invalid, (await guest.ExpectAsync(T.BulkPacket)).As<BulkPacketHeader>().Status);
        guest.Send(51, new BulkPacketHeader(0x05, UsbStatus.Success, 1, 0), new byte[1]); // no such endpoint
        Assert.Equal(UsbStatus.Invalid, (await guest.ExpectAsync(T.BulkPacket)).As<BulkPacketHeader>().Status);

        guest.Send(52, new ControlPacketHeader(0x00, 1, 0x02, UsbStatus.Success, 0, 0x81, 0));
        Assert.Equal(UsbStatus.Success, (await guest.ExpectAsync(T.ControlPacket)).As<ControlPacketHeader>().Status);
        Assert.Equal(1, device.ClearHalts);
        Assert.DoesNotContain(device.ControlRequests, r => r.Request == 1);
    }

    [Fact]
    public async Task A_failed_alternate_setting_change_is_answered_without_a_new_layout()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        await ConfigureAsync(guest);
        // The status comes first and alone, as from libusbredirhost (UsbHostEdgeVmTests, step set-alt-setting-absent-alt);
        // a success sends the layout first.
        guest.Send(55, new SetAltSettingHeader(0, 9));
        var answer = await guest.ExpectAsync(T.AltSettingStatus);
        Assert.Equal(55ul, answer.Id);
        Assert.NotEqual(UsbStatus.Success, answer.As<AltSettingStatusHeader>().Status);
        Assert.Equal(0, answer.As<AltSettingStatusHeader>().Alt);
    }

    [Fact]
    public async Task A_control_transfer_the_device_never_finishes_times_out()
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        device.ControlGate = new TaskCompletionSource();
        guest.Send(60, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x0100, 0, 18));
        var reply = await guest.ExpectAsync(T.ControlPacket, TimeSpan.FromSeconds(15));
        Assert.Equal(UsbStatus.Timeout, reply.As<ControlPacketHeader>().Status);
    }

    [Fact]
    public async Task Reset_is_not_answered_and_a_second_reset_without_transfers_is_skipped()
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        guest.Do(c => c.SendReset());
        guest.Do(c => c.SendReset());
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
        // A request answered after both resets: the host handles packets in order, so both resets were seen by then.
        guest.Do(c => c.SendGetConfiguration(80));
        Assert.Equal(80ul, (await guest.ExpectAsync(T.ConfigurationStatus)).Id);
        Assert.Equal(1, device.Resets);
    }

    /// <summary>
    /// A device that comes back from a reset as another device (a DFU device switching mode): the peer gets its new
    /// interfaces and endpoints (it reads the new descriptors itself), no device_disconnect, and the session goes on
    /// serving it. A reset that changes nothing sends nothing (Reset_is_not_answered_...).
    /// </summary>
    [Fact]
    public async Task A_device_that_comes_back_from_a_reset_as_another_gets_its_layout_sent_again()
    {
        var device = new DfuTestDevice();
        var (guest, hostSide) = await ScriptedPeer.ConnectAsync(UsbRedirCapabilities.All & ~UsbRedirCapabilities.BulkStreams);
        var host = new UsbRedirHostSession(device, ByteStreamConnection.FromSocket(hostSide), new SessionLog());
        host.Start();
        await using var _h = host;
        await using var _g = guest;
        await guest.ExpectAsync(T.InterfaceInfo);
        await guest.ExpectAsync(T.EpInfo);
        Assert.Equal(DfuTestDevice.RuntimeProductId, (await guest.ExpectAsync(T.DeviceConnect)).As<DeviceConnectHeader>().ProductId);
        await ConfigureDfuAsync(1, protocol: 1); // run-time mode

        guest.Send(2, new ControlPacketHeader(0x00, DfuTestDevice.Detach, 0x21, UsbStatus.Success, 1000, 0, 0));
        Assert.Equal(UsbStatus.Success, (await guest.ExpectAsync(T.ControlPacket)).As<ControlPacketHeader>().Status);
        guest.Do(c => c.SendReset());
        // A software device comes back from a reset unconfigured: no interfaces until the peer configures it again.
        Assert.Equal(0u, (await guest.ExpectAsync(T.InterfaceInfo)).As<InterfaceInfoHeader>().InterfaceCount);
        await guest.ExpectAsync(T.EpInfo);
        Assert.Equal(HostDeviceState.Connected, host.DeviceState);
        await ConfigureDfuAsync(3, protocol: 2); // DFU mode

        guest.Send(4, new ControlPacketHeader(0x80, DfuTestDevice.GetStatus, 0xA1, UsbStatus.Success, 0, 0, 6));
        var status = await guest.ExpectAsync(T.ControlPacket);
        Assert.Equal(UsbStatus.Success, status.As<ControlPacketHeader>().Status);
        Assert.Equal(DfuTestDevice.DfuIdle, status.Payload[4]);
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200))); // no device_disconnect, nothing else

        // set_configuration(1): the host answers with the one DFU interface (FE/01/protocol), its endpoints and the status.
        async Task ConfigureDfuAsync(ulong id, byte protocol)
        {
            guest.Send(id, new SetConfigurationHeader(1));
            var info = (await guest.ExpectAsync(T.InterfaceInfo)).As<InterfaceInfoHeader>();
            Assert.Equal((1u, 0xFE, 0x01, protocol), (info.InterfaceCount, info.InterfaceClasses[0], info.InterfaceSubclasses[0], info.InterfaceProtocols[0]));
            await guest.ExpectAsync(T.EpInfo);
            Assert.Equal(id, (await guest.ExpectAsync(T.ConfigurationStatus)).Id);
        }
    }

    [Fact]
    public async Task Unplugged_device_is_disconnected_and_the_ack_releases_it()
    {
        var (host, guest, device) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        await ConfigureAsync(guest);
        guest.Send(70, new BulkPacketHeader(0x81, UsbStatus.Success, 64, 0));
        // Unplug only once the read is in the device: one that arrived after the unplug would be refused after the
        // device_disconnect instead of failed before it.
        await Eventually.TrueAsync(() => device.TransfersInProgress == 1, "the read reached the device");
        device.Unplug();
        var pending = await guest.NextAsync();
        Assert.Equal(T.BulkPacket, pending.Type);
        Assert.NotEqual(UsbStatus.Success, pending.As<BulkPacketHeader>().Status);
        await guest.ExpectAsync(T.DeviceDisconnect);
        Assert.Equal(HostDeviceState.Disconnecting, host.DeviceState);

        // While disconnected requests fail with ioerror and data packets are echoed empty.
        guest.Send(71, new BulkPacketHeader(0x01, UsbStatus.Success, 2, 0), new byte[2]);
        Assert.Equal(UsbStatus.IoError, (await guest.ExpectAsync(T.BulkPacket)).As<BulkPacketHeader>().Status);

        guest.Do(c => c.SendDeviceDisconnectAck());
        await host.DeviceReleased.WaitAsync(TestDeadline.Default);
        Assert.Equal(HostDeviceState.Released, host.DeviceState);
    }

    [Fact]
    public async Task Filter_reject_releases_the_device_and_the_filter_is_kept()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        guest.Do(c => c.SendFilter("0x08,-1,-1,-1,1|-1,-1,-1,-1,0"));
        await ExpectAnnouncementAsync(guest);
        guest.Do(c => c.SendFilterReject());
        await guest.ExpectAsync(T.DeviceDisconnect);
        await host.DeviceReleased.WaitAsync(TestDeadline.Default);
        Assert.Equal(HostDeviceState.Rejected, host.DeviceState);
        Assert.Equal("0x08,-1,-1,-1,1|-1,-1,-1,-1,0", host.PeerFilter);
        // libusbredirparser acknowledges that device_disconnect by itself: an ack of it, not an error.
        guest.Do(c => c.SendDeviceDisconnectAck());
        guest.Do(c => c.SendGetConfiguration(90));
        Assert.Equal(90ul, (await guest.ExpectAsync(T.ConfigurationStatus)).Id); // answered after the ack was handled
        Assert.Equal(HostDeviceState.Rejected, host.DeviceState);
        Assert.Equal(0, host.Log.ErrorCount - 1); // the reject's own error only
    }

    [Fact]
    public async Task Without_64_bit_ids_and_32_bit_lengths_the_old_sizes_are_used()
    {
        var caps = UsbRedirCapabilities.EpInfoMaxPacketSize | UsbRedirCapabilities.Filter;
        var (host, guest, _) = await StartAsync(caps);
        await using var _h = host;
        await using var _g = guest;
        var info = await guest.ExpectAsync(T.InterfaceInfo);
        await guest.ExpectAsync(T.EpInfo);
        var connect = (await guest.ExpectAsync(T.DeviceConnect)).As<DeviceConnectHeader>();
        Assert.Null(connect.DeviceVersionBcd);
        Assert.Equal(12, guest.Codec.HeaderSize);
    }

    [Fact]
    public async Task Garbage_from_the_peer_ends_the_session_with_a_named_error()
    {
        var (host, guest, _) = await StartAsync();
        await using var _h = host;
        await using var _g = guest;
        await ExpectAnnouncementAsync(guest);
        guest.SendRaw([0x32, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]); // type 50 is unknown
        var reason = await host.Completion.WaitAsync(TestDeadline.Default);
        var e = Assert.IsType<UsbRedirException>(reason);
        Assert.Equal("ProtocolViolation", e.ErrorId);
        Assert.Equal(1, host.Log.ErrorCount);
        await guest.Closed.WaitAsync(TestDeadline.Default);
    }
}
