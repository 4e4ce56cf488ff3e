using Microsoft.Extensions.Time.Testing;
using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// Our usb-guest role's isochronous transfers against a scripted usb-host over loopback TCP: what goes on the wire
/// (start once, packets in order, stop when the device's state changes), how transfers complete (filled in order,
/// paced by a fake bus clock, cut short at their deadline), and what a host that reports errors or floods data gets.
/// </summary>
public class GuestIsoTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;
    private const byte IsoIn = 0x81, IsoOut = 0x02, StreamingInterface = 1;
    private const int PacketSize = 192; // 48 kHz stereo s16 per 1 ms frame

    // Full speed, bInterval 1: 1000 packets/s. QEMU's rule gives 10 packets per transfer, 60 ms of buffering:
    // 6 transfers for IN, twice that for OUT; IN keeps twice the 60 packets for a late reader.
    private const int PacketsPerUrb = 10, InUrbs = 6, OutUrbs = 12, QueueLimit = 120;
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(60 + PacketsPerUrb);

    private sealed class Rig(UsbRedirGuestSession guest, ScriptedPeer host, RemoteUsbDevice remote, FakeTimeProvider clock) : IAsyncDisposable
    {
        public UsbRedirGuestSession Guest { get; } = guest;
        public ScriptedPeer Host { get; } = host;
        public RemoteUsbDevice Remote { get; } = remote;
        public FakeTimeProvider Clock { get; } = clock;

        /// <summary>A round trip through the guest's read loop: everything the host sent before has been handled when it returns.</summary>
        public async Task SyncAsync()
        {
            var control = Remote.ControlTransferAsync(new UsbSetupPacket(0x80, 6, 0x0100, 0, 18), new byte[18], default);
            ScriptedHostDevice.Answer(Host, await Host.ExpectAsync(T.ControlPacket));
            Assert.Equal(UsbStatus.Success, (await control.WaitAsync(Quick)).Status);
        }

        public async ValueTask DisposeAsync()
        {
            await Guest.DisposeAsync();
            await Host.DisposeAsync();
        }
    }

    /// <summary>A full-speed audio-like device: interface 1 streams iso IN 0x81 and iso OUT 0x02, 192-byte packets every frame.</summary>
    private static void AnnounceAudio(ScriptedPeer host)
    {
        host.Send(0, new InterfaceInfoHeader(2, [0, 1], [1, 1], [1, 2], [0, 0]));
        var types = Enumerable.Repeat((byte)UsbEndpointType.Invalid, 32).ToArray();
        var intervals = new byte[32];
        var interfaces = new byte[32];
        var mps = new ushort[32];
        types[0] = types[16] = (byte)UsbEndpointType.Control;
        mps[0] = mps[16] = 64;
        foreach (var ep in new[] { IsoIn, IsoOut })
        {
            var i = EpInfoHeader.IndexOf(ep);
            types[i] = (byte)UsbEndpointType.Isochronous;
            intervals[i] = 1;
            interfaces[i] = StreamingInterface;
            mps[i] = PacketSize;
        }
        host.Send(0, new EpInfoHeader(types, intervals, interfaces, mps, new uint[32]));
        host.Send(0, new DeviceConnectHeader(UsbSpeed.Full, 0, 0, 0, 0x46f4, 0x0002, 0x0100));
    }

    private static async Task<Rig> StartAsync()
    {
        var clock = new FakeTimeProvider();
        var (host, guestSide) = await ScriptedPeer.ConnectHostAsync();
        var guest = new UsbRedirGuestSession(ByteStreamConnection.FromSocket(guestSide), new SessionLog(), new UsbRedirGuestOptions { TimeProvider = clock });
        guest.Start();
        var remote = await ScriptedHostDevice.AttachAsync(host, guest, AnnounceAudio);
        return new Rig(guest, host, remote, clock);
    }

    private static UsbIsoPacket[] Packets(int count, int size = PacketSize) =>
        Enumerable.Range(0, count).Select(i => new UsbIsoPacket(i * size, size)).ToArray();

    /// <summary>Host IN data: packet n is n+1 bytes (at most a packet), each byte n.</summary>
    private static byte[] InData(int n) => Enumerable.Repeat((byte)n, n % PacketSize + 1).ToArray();

    private static void SendIn(ScriptedPeer host, int n, UsbStatus status = UsbStatus.Success)
    {
        var data = InData(n);
        host.Send((ulong)n, new IsoPacketHeader(IsoIn, status, (ushort)data.Length), data);
    }

    private static Task<UsbIsoTransferResult> In(RemoteUsbDevice remote, byte[] buffer, int count, CancellationToken ct = default) =>
        remote.IsoTransferAsync(IsoIn, buffer, Packets(count), ct);

    private static Task<UsbIsoTransferResult> Out(RemoteUsbDevice remote, byte first, int count, CancellationToken ct = default)
    {
        var buffer = new byte[count * PacketSize];
        for (var i = 0; i < count; i++)
            buffer.AsSpan(i * PacketSize, PacketSize).Fill((byte)(first + i));
        return remote.IsoTransferAsync(IsoOut, buffer, Packets(count), ct);
    }

    private static void AssertInPackets(byte[] buffer, UsbIsoTransferResult result, int firstPacket)
    {
        Assert.Equal(UsbStatus.Success, result.Status);
        for (var i = 0; i < result.Packets.Count; i++)
        {
            var expected = InData(firstPacket + i);
            Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, expected.Length), result.Packets[i]);
            Assert.Equal(expected, buffer.AsSpan(i * PacketSize, expected.Length).ToArray());
        }
    }

    /// <summary>Completions run their continuations on the thread pool: give a wrongly completed transfer time to show.</summary>
    private static async Task AssertPendingAsync(Task transfer)
    {
        await Task.Delay(50);
        Assert.False(transfer.IsCompleted);
    }

    private static async Task<StartIsoStreamHeader> ExpectStartAsync(ScriptedPeer host, byte endpoint, bool answer = true)
    {
        var start = await host.ExpectAsync(T.StartIsoStream);
        var header = start.As<StartIsoStreamHeader>();
        Assert.Equal(endpoint, header.Endpoint);
        if (answer)
            host.Send(start.Id, new IsoStreamStatusHeader(UsbStatus.Success, endpoint));
        return header;
    }

    private static async Task<IsoPacketHeader> ExpectOutPacketAsync(ScriptedPeer host, byte fill)
    {
        var packet = await host.ExpectAsync(T.IsoPacket);
        Assert.Equal(Enumerable.Repeat(fill, PacketSize), packet.Payload);
        return packet.As<IsoPacketHeader>();
    }

    [Fact]
    public async Task In_starts_the_stream_once_and_fills_transfers_in_order_then_completes_late_packets_empty()
    {
        await using var rig = await StartAsync();
        var first = new byte[4 * PacketSize];
        var second = new byte[4 * PacketSize];
        var a = In(rig.Remote, first, 4);
        var b = In(rig.Remote, second, 4);

        var start = await ExpectStartAsync(rig.Host, IsoIn);
        Assert.Equal(new StartIsoStreamHeader(IsoIn, PacketsPerUrb, InUrbs), start);
        for (var n = 0; n < 8; n++)
            SendIn(rig.Host, n);
        AssertInPackets(first, await a.WaitAsync(Quick), 0);
        AssertInPackets(second, await b.WaitAsync(Quick), 4);

        // Two packets wanted, one arrives: the transfer waits for its bus time (2 ms) plus the slack, then gives the rest empty.
        var third = new byte[2 * PacketSize];
        var c = In(rig.Remote, third, 2);
        SendIn(rig.Host, 8);
        await rig.SyncAsync();
        rig.Clock.Advance(TimeSpan.FromMilliseconds(2) + Slack - TimeSpan.FromMilliseconds(1));
        await AssertPendingAsync(c);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var late = await c.WaitAsync(Quick);
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, InData(8).Length), late.Packets[0]);
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, 0), late.Packets[1]);
        Assert.Equal(InData(8), third[..InData(8).Length]);

        // Host errors and oversize packets are per packet; one start was all the stream needed.
        var fourth = new byte[16 + 8];
        var d = rig.Remote.IsoTransferAsync(IsoIn, fourth, [new(0, 16), new(16, 8)], default);
        SendIn(rig.Host, 9, UsbStatus.IoError);
        SendIn(rig.Host, 10);
        var mixed = await d.WaitAsync(Quick);
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.IoError, 10), mixed.Packets[0]);
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.Babble, 8), mixed.Packets[1]); // 11 bytes for an 8-byte slot: cut, babble
        Assert.Equal(InData(10)[..8], fourth[16..]);
        Assert.True(await rig.Host.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(0, rig.Guest.Log.ErrorCount);
    }

    [Fact]
    public async Task In_packets_nobody_reads_are_kept_up_to_the_bound_oldest_dropped_with_one_warning()
    {
        await using var rig = await StartAsync();
        var buffer = new byte[PacketSize];
        var opener = In(rig.Remote, buffer, 1);
        await ExpectStartAsync(rig.Host, IsoIn);
        SendIn(rig.Host, 0);
        AssertInPackets(buffer, await opener.WaitAsync(Quick), 0);

        const int flood = QueueLimit + 30;
        for (var n = 1; n <= flood; n++)
            SendIn(rig.Host, n);
        await rig.SyncAsync();

        var all = new byte[(QueueLimit + 1) * PacketSize];
        var read = In(rig.Remote, all, QueueLimit + 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(QueueLimit + 1) + Slack);
        var result = await read.WaitAsync(Quick);
        // The newest QueueLimit packets are there, in order; the 30 oldest were dropped; the one more wanted never came.
        for (var i = 0; i < QueueLimit; i++)
        {
            var expected = InData(flood - QueueLimit + 1 + i);
            Assert.Equal(expected.Length, result.Packets[i].ActualLength);
            Assert.Equal(expected[0], all[i * PacketSize]);
        }
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, 0), result.Packets[QueueLimit]);
        Assert.Single(rig.Guest.Log.Entries, e => e.Level == SessionLogLevel.Warning && e.Message.Contains("dropping its oldest packets"));
    }

    [Fact]
    public async Task Out_sends_each_packet_at_once_and_completes_transfers_at_their_bus_time()
    {
        await using var rig = await StartAsync();
        var t1 = Out(rig.Remote, 10, 3);
        Assert.Equal(new StartIsoStreamHeader(IsoOut, PacketsPerUrb, OutUrbs), await ExpectStartAsync(rig.Host, IsoOut));
        for (byte i = 0; i < 3; i++)
            Assert.Equal(new IsoPacketHeader(IsoOut, UsbStatus.Success, PacketSize), await ExpectOutPacketAsync(rig.Host, (byte)(10 + i)));
        // Submitted together, the next two take the following 3 ms each on the endpoint's clock.
        var t2 = Out(rig.Remote, 20, 3);
        var t3 = Out(rig.Remote, 30, 3);
        for (byte i = 0; i < 3; i++)
            await ExpectOutPacketAsync(rig.Host, (byte)(20 + i));
        for (byte i = 0; i < 3; i++)
            await ExpectOutPacketAsync(rig.Host, (byte)(30 + i));

        rig.Clock.Advance(TimeSpan.FromMilliseconds(2));
        await AssertPendingAsync(t1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await t1.WaitAsync(Quick);
        Assert.All((await t1).Packets, p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, PacketSize), p));
        rig.Clock.Advance(TimeSpan.FromMilliseconds(3));
        await t2.WaitAsync(Quick);
        await AssertPendingAsync(t3);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(3));
        Assert.Equal(UsbStatus.Success, (await t3.WaitAsync(Quick)).Status);

        // A producer that fell behind starts a fresh clock: no burst of "owed" completions.
        rig.Clock.Advance(TimeSpan.FromMilliseconds(100));
        var t4 = Out(rig.Remote, 40, 2);
        await ExpectOutPacketAsync(rig.Host, 40);
        await ExpectOutPacketAsync(rig.Host, 41);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await AssertPendingAsync(t4);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await t4.WaitAsync(Quick);
        Assert.True(await rig.Host.NothingWithinAsync(TimeSpan.FromMilliseconds(100))); // still the one start
    }

    [Fact]
    public async Task Out_packets_longer_than_the_max_packet_size_are_refused_locally()
    {
        await using var rig = await StartAsync();
        var buffer = new byte[PacketSize + 1 + PacketSize];
        var result = await rig.Remote.IsoTransferAsync(IsoOut, buffer, [new(0, PacketSize), new(PacketSize, PacketSize + 1)], default).WaitAsync(Quick);

        Assert.Equal(UsbStatus.Invalid, result.Status);
        Assert.All(result.Packets, p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Invalid, 0), p));
        Assert.Contains(rig.Guest.Log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("packet 1 holds 193 bytes, more than the endpoint's max packet size of 192"));
        var outside = await rig.Remote.IsoTransferAsync(IsoOut, new byte[10], [new(5, 10)], default);
        Assert.Equal(UsbStatus.Invalid, outside.Status);
        var notIso = await rig.Remote.IsoTransferAsync(0x83, new byte[10], [new(0, 10)], default);
        Assert.Equal(UsbStatus.Invalid, notIso.Status);
        Assert.True(await rig.Host.NothingWithinAsync(TimeSpan.FromMilliseconds(200))); // nothing was sent, not even a start
    }

    [Fact]
    public async Task Unsolicited_stream_errors_are_reported_on_the_next_transfer_and_a_stall_restarts_the_stream()
    {
        await using var rig = await StartAsync();
        var t1 = Out(rig.Remote, 1, 1);
        await ExpectStartAsync(rig.Host, IsoOut);
        await ExpectOutPacketAsync(rig.Host, 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(UsbStatus.Success, (await t1.WaitAsync(Quick)).Packets[0].Status);

        // An OUT error the host could only report afterwards: the stream runs on, the next transfer carries the news.
        rig.Host.Send(0, new IsoStreamStatusHeader(UsbStatus.IoError, IsoOut));
        await rig.SyncAsync();
        var t2 = Out(rig.Remote, 2, 2);
        await ExpectOutPacketAsync(rig.Host, 2);
        await ExpectOutPacketAsync(rig.Host, 2 + 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.All((await t2.WaitAsync(Quick)).Packets, p => Assert.Equal(UsbStatus.IoError, p.Status));
        var t3 = Out(rig.Remote, 4, 1);
        await ExpectOutPacketAsync(rig.Host, 4);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(UsbStatus.Success, (await t3.WaitAsync(Quick)).Packets[0].Status);

        // A stall: the host stopped the stream. The next transfer reports it without sending; the one after restarts it.
        rig.Host.Send(0, new IsoStreamStatusHeader(UsbStatus.Stall, IsoOut));
        await rig.SyncAsync();
        var stalled = await Out(rig.Remote, 5, 2).WaitAsync(Quick);
        Assert.Equal(UsbStatus.Stall, stalled.Status);
        Assert.All(stalled.Packets, p => Assert.Equal(UsbStatus.Stall, p.Status));
        var t4 = Out(rig.Remote, 6, 1);
        await ExpectStartAsync(rig.Host, IsoOut);
        await ExpectOutPacketAsync(rig.Host, 6);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(UsbStatus.Success, (await t4.WaitAsync(Quick)).Status);

        // A refused IN start fails the transfers waiting for its data at once.
        var waiting = In(rig.Remote, new byte[2 * PacketSize], 2);
        var start = await rig.Host.ExpectAsync(T.StartIsoStream);
        rig.Host.Send(start.Id, new IsoStreamStatusHeader(UsbStatus.Stall, IsoIn));
        Assert.All((await waiting.WaitAsync(Quick)).Packets, p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Stall, 0), p));
        Assert.Contains(rig.Guest.Log.Entries, e => e.Message.Contains("refused to start isochronous endpoint 0x81"));
    }

    [Fact]
    public async Task Alt_setting_configuration_and_reset_stop_live_streams_and_the_next_transfer_restarts_them()
    {
        await using var rig = await StartAsync();
        var pending = In(rig.Remote, new byte[4 * PacketSize], 4);
        await ExpectStartAsync(rig.Host, IsoIn);

        // Another interface's alternate setting leaves the stream alone.
        var other = rig.Remote.SetAlternateSettingAsync(0, 0, default);
        var otherRequest = await rig.Host.ExpectAsync(T.SetAltSetting);
        rig.Host.Send(otherRequest.Id, new AltSettingStatusHeader(UsbStatus.Success, 0, 0));
        Assert.Equal(UsbStatus.Success, await other.WaitAsync(Quick));
        await AssertPendingAsync(pending);

        // The streaming interface's: stop_iso_stream first, the pending transfer cancelled.
        var alt = rig.Remote.SetAlternateSettingAsync(StreamingInterface, 0, default);
        var stop = await rig.Host.ExpectAsync(T.StopIsoStream);
        Assert.Equal(new StopIsoStreamHeader(IsoIn), stop.As<StopIsoStreamHeader>());
        Assert.Equal(UsbStatus.Cancelled, (await pending.WaitAsync(Quick)).Status);
        var altRequest = await rig.Host.ExpectAsync(T.SetAltSetting);
        rig.Host.Send(altRequest.Id, new AltSettingStatusHeader(UsbStatus.Success, StreamingInterface, 0));
        Assert.Equal(UsbStatus.Success, await alt.WaitAsync(Quick));

        // The stream restarts before the host has confirmed the stop (a caller that did not wait for the alt setting
        // gets there too): data the stopped stream still had in the pipe arrives before that confirmation and is nobody's.
        var buffer = new byte[PacketSize];
        var fresh = In(rig.Remote, buffer, 1);
        var restart = await rig.Host.ExpectAsync(T.StartIsoStream);
        SendIn(rig.Host, 50);
        SendIn(rig.Host, 51);
        rig.Host.Send(stop.Id, new IsoStreamStatusHeader(UsbStatus.Success, IsoIn));
        rig.Host.Send(restart.Id, new IsoStreamStatusHeader(UsbStatus.Success, IsoIn));
        SendIn(rig.Host, 0);
        AssertInPackets(buffer, await fresh.WaitAsync(Quick), 0);

        // set_configuration stops every stream.
        var writing = Out(rig.Remote, 1, 1);
        await ExpectStartAsync(rig.Host, IsoOut);
        await ExpectOutPacketAsync(rig.Host, 1);
        var reading = In(rig.Remote, new byte[PacketSize], 1);
        var config = rig.Remote.SetConfigurationAsync(1, default);
        var stops = new[] { await rig.Host.ExpectAsync(T.StopIsoStream), await rig.Host.ExpectAsync(T.StopIsoStream) };
        Assert.Equal(new byte[] { IsoOut, IsoIn }, stops.Select(s => s.As<StopIsoStreamHeader>().Endpoint).Order());
        Assert.Equal(UsbStatus.Cancelled, (await writing.WaitAsync(Quick)).Status);
        Assert.Equal(UsbStatus.Cancelled, (await reading.WaitAsync(Quick)).Status);
        var configRequest = await rig.Host.ExpectAsync(T.SetConfiguration);
        rig.Host.Send(configRequest.Id, new ConfigurationStatusHeader(UsbStatus.Success, 1));
        Assert.Equal(UsbStatus.Success, await config.WaitAsync(Quick));

        // A reset too, before the reset itself goes out.
        var again = In(rig.Remote, new byte[PacketSize], 1);
        await ExpectStartAsync(rig.Host, IsoIn);
        var reset = rig.Remote.ResetAsync(default);
        Assert.Equal(new StopIsoStreamHeader(IsoIn), (await rig.Host.ExpectAsync(T.StopIsoStream)).As<StopIsoStreamHeader>());
        await rig.Host.ExpectAsync(T.Reset);
        Assert.Equal(UsbStatus.Cancelled, (await again.WaitAsync(Quick)).Status);
        ScriptedHostDevice.Answer(rig.Host, await rig.Host.ExpectAsync(T.GetConfiguration));
        Assert.Equal(UsbStatus.Success, await reset.WaitAsync(Quick));
        var restarted = In(rig.Remote, new byte[PacketSize], 1);
        await ExpectStartAsync(rig.Host, IsoIn);
        SendIn(rig.Host, 0);
        Assert.Equal(UsbStatus.Success, (await restarted.WaitAsync(Quick)).Packets[0].Status);
    }

    [Fact]
    public async Task Cancelled_iso_transfers_complete_cancelled_at_once_and_the_stream_runs_on()
    {
        await using var rig = await StartAsync();
        using var cancelIn = new CancellationTokenSource();
        var reading = In(rig.Remote, new byte[2 * PacketSize], 2, cancelIn.Token);
        await ExpectStartAsync(rig.Host, IsoIn);
        using var cancelOut = new CancellationTokenSource();
        var writing = Out(rig.Remote, 1, 2, cancelOut.Token);
        await ExpectStartAsync(rig.Host, IsoOut);
        await ExpectOutPacketAsync(rig.Host, 1);
        await ExpectOutPacketAsync(rig.Host, 2);

        cancelIn.Cancel();
        cancelOut.Cancel();
        Assert.All((await reading.WaitAsync(Quick)).Packets, p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Cancelled, 0), p));
        Assert.Equal(UsbStatus.Cancelled, (await writing.WaitAsync(Quick)).Status);
        // The stream was not stopped for it: the next read takes the next packet, with no new start.
        var buffer = new byte[PacketSize];
        var next = In(rig.Remote, buffer, 1);
        SendIn(rig.Host, 3);
        AssertInPackets(buffer, await next.WaitAsync(Quick), 3);
        Assert.True(await rig.Host.NothingWithinAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task A_device_that_goes_away_fails_pending_and_later_iso_transfers_with_io_error_and_nothing_is_stopped()
    {
        await using var rig = await StartAsync();
        var reading = In(rig.Remote, new byte[PacketSize], 1);
        await ExpectStartAsync(rig.Host, IsoIn);
        var writing = Out(rig.Remote, 1, 1);
        await ExpectStartAsync(rig.Host, IsoOut);
        await ExpectOutPacketAsync(rig.Host, 1);

        rig.Host.Do(c => c.SendDeviceDisconnect());
        Assert.Equal(UsbStatus.IoError, (await reading.WaitAsync(Quick)).Status);
        Assert.Equal(UsbStatus.IoError, (await writing.WaitAsync(Quick)).Status);
        Assert.Equal(UsbStatus.IoError, (await Out(rig.Remote, 2, 1)).Status);
        await rig.Host.ExpectAsync(T.DeviceDisconnectAck); // and no stop_iso_stream: there is no device to stop
        Assert.True(await rig.Host.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task A_host_flooding_iso_packets_nobody_asked_for_costs_one_warning_and_no_memory()
    {
        await using var rig = await StartAsync();
        // 0x83 is no endpoint at all; 0x81 has not been started. Neither may keep anything.
        var payload = new byte[1023];
        for (var n = 0; n < 5000; n++)
        {
            rig.Host.Send((ulong)n, new IsoPacketHeader(0x83, UsbStatus.Success, (ushort)payload.Length), payload);
            rig.Host.Send((ulong)n, new IsoPacketHeader(IsoIn, UsbStatus.Success, (ushort)payload.Length), payload);
        }
        await rig.SyncAsync();

        Assert.Single(rig.Guest.Log.Entries, e => e.Message.Contains("iso data for endpoint 0x83"));
        Assert.Single(rig.Guest.Log.Entries, e => e.Message.Contains("iso data for endpoint 0x81"));
        // Nothing of the flood was kept for the stream that starts now: its first transfer sees only what comes after the start.
        var buffer = new byte[2 * PacketSize];
        var read = In(rig.Remote, buffer, 2);
        await ExpectStartAsync(rig.Host, IsoIn);
        SendIn(rig.Host, 7);
        await rig.SyncAsync();
        rig.Clock.Advance(TimeSpan.FromMilliseconds(2) + Slack);
        var result = await read.WaitAsync(Quick);
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, InData(7).Length), result.Packets[0]);
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, 0), result.Packets[1]);

        // A started stream nobody reads holds at most its bound, however long the flood.
        for (var n = 0; n < 5000; n++)
            rig.Host.Send((ulong)n, new IsoPacketHeader(IsoIn, UsbStatus.Success, (ushort)payload.Length), payload);
        await rig.SyncAsync();
        var all = new byte[(QueueLimit + 1) * 1023];
        var drain = rig.Remote.IsoTransferAsync(IsoIn, all, Packets(QueueLimit + 1, 1023), default);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(QueueLimit + 1) + Slack);
        var drained = await drain.WaitAsync(Quick);
        // Kept packets were cut to the endpoint's 192-byte max packet size (babble), and only QueueLimit of them.
        Assert.All(drained.Packets.Take(QueueLimit), p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Babble, PacketSize), p));
        Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, 0), drained.Packets[QueueLimit]);
        Assert.False(rig.Guest.Completion.IsCompleted); // and the session is still up
    }
}
