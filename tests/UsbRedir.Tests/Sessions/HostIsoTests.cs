using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// Isochronous streams in the usb-host role against a scripted usb-guest, with <see cref="IsoTestDevice"/> paced by a fake
/// clock: the tests move time, so what the host does with each interval is deterministic. Covers the start/stop replies,
/// IN numbering and data, the OUT ring (prefill, overflow, underflow, oversize), errors and stall recovery, reset and
/// configuration changes, the drop policy against a peer that stops reading, and a hostile peer's stray iso_packets.
/// </summary>
public class HostIsoTests
{
    private const byte In = IsoTestDevice.InEndpoint;
    private const byte Out = IsoTestDevice.OutEndpoint;
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    private sealed class Rig(UsbRedirHostSession host, ScriptedPeer guest, IsoTestDevice device, FakeTimeProvider time) : IAsyncDisposable
    {
        public UsbRedirHostSession Host { get; } = host;
        public ScriptedPeer Guest { get; } = guest;
        public IsoTestDevice Device { get; } = device;
        public FakeTimeProvider Time { get; } = time;
        private ulong _barrier = 1_000_000;

        /// <summary>Waits until the host has handled everything sent so far; returns what it sent before answering.</summary>
        public async Task<List<ScriptedPeer.Received>> SyncAsync()
        {
            var id = _barrier++;
            Guest.Do(c => c.SendGetConfiguration(id));
            var before = new List<ScriptedPeer.Received>();
            while (true)
            {
                var r = await Guest.NextAsync();
                if (r.Type == T.ConfigurationStatus && r.Id == id)
                    return before;
                before.Add(r);
            }
        }

        /// <summary>Moves the clock one step whenever the host has all <paramref name="transfers"/> at the device, until <paramref name="done"/>.</summary>
        public async Task PumpAsync(byte endpoint, int transfers, TimeSpan step, Func<bool> done)
        {
            while (!done())
            {
                await Eventually.TrueAsync(() => Device.Scheduled(endpoint) == transfers || done(), "the host keeps its transfers at the device");
                if (!done())
                    Time.Advance(step);
            }
        }

        /// <summary>Lets the device produce <paramref name="count"/> more IN packets and reads the iso_packets they became.</summary>
        public async Task<List<ScriptedPeer.Received>> ReadInAsync(int count, int transfers)
        {
            var target = Device.InProduced + count;
            await PumpAsync(In, transfers, Ms, () => Device.InProduced >= target);
            var packets = new List<ScriptedPeer.Received>();
            for (var i = 0; i < count; i++)
                packets.Add(await Guest.ExpectAsync(T.IsoPacket));
            return packets;
        }

        /// <summary>Stops reading, lets the device produce <paramref name="produced"/> IN packets, and returns the largest <paramref name="measure"/> of the host's send queue seen.</summary>
        public async Task<int> PumpWhileNotReadingAsync(int transfers, TimeSpan step, uint produced, Func<SendQueue, int> measure)
        {
            Guest.PauseReading();
            var max = 0;
            await PumpAsync(In, transfers, step, () =>
            {
                max = Math.Max(max, measure(Host.Connection.Outgoing));
                return Device.InProduced >= produced;
            });
            Assert.True(Host.IsoInPacketsDropped > 0, "nothing was dropped");
            return max;
        }

        /// <summary>
        /// Waits until the device has played <paramref name="played"/> OUT packets and the host has taken in the completions
        /// up to its <paramref name="dryRuns"/>-th underflow (completions reach the host after the device counts the packets).
        /// </summary>
        public Task PlayedAsync(int played, int dryRuns) => Eventually.TrueAsync(
            () => Device.Received.Count == played && Host.Log.Entries.Count(e => e.Message.Contains("ran dry")) == dryRuns,
            $"the device played {played} packets and the host saw the ring run dry {dryRuns} times");

        public void SendOut(ulong id, byte[] data, byte endpoint = Out) =>
            Guest.Send(id, new IsoPacketHeader(endpoint, UsbStatus.Success, (ushort)data.Length), data);

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            await Guest.DisposeAsync();
            await Device.DisposeAsync();
        }
    }

    private static async Task<Rig> StartAsync(bool selectIsoAlt = true, int? kernelBufferBytes = null)
    {
        var time = new FakeTimeProvider();
        var device = new IsoTestDevice(time);
        var (guest, hostSide) = await ScriptedPeer.ConnectAsync(kernelBufferBytes: kernelBufferBytes);
        var host = new UsbRedirHostSession(device, ByteStreamConnection.FromSocket(hostSide), new SessionLog());
        host.Start();
        await guest.ExpectAnnouncementAsync();
        guest.Send(1, new SetConfigurationHeader(1));
        await guest.ExpectAsync(T.InterfaceInfo);
        await guest.ExpectAsync(T.EpInfo);
        Assert.Equal(UsbStatus.Success, (await guest.ExpectAsync(T.ConfigurationStatus)).As<ConfigurationStatusHeader>().Status);
        if (selectIsoAlt)
            await SelectAltAsync(guest, 1);
        return new Rig(host, guest, device, time);
    }

    private static async Task SelectAltAsync(ScriptedPeer guest, byte alt)
    {
        guest.Send(2, new SetAltSettingHeader(0, alt));
        await guest.ExpectAsync(T.InterfaceInfo);
        var ep = (await guest.ExpectAsync(T.EpInfo)).As<EpInfoHeader>();
        Assert.Equal(alt == 1 ? (byte)UsbEndpointType.Isochronous : (byte)UsbEndpointType.Invalid, ep.Types[EpInfoHeader.IndexOf(In)]);
        Assert.Equal(new AltSettingStatusHeader(UsbStatus.Success, 0, alt), (await guest.ExpectAsync(T.AltSettingStatus)).As<AltSettingStatusHeader>());
    }

    private static async Task<IsoStreamStatusHeader> StartStreamAsync(Rig r, ulong id, byte endpoint, byte packets, byte transfers)
    {
        r.Guest.Send(id, new StartIsoStreamHeader(endpoint, packets, transfers));
        var status = await r.Guest.ExpectAsync(T.IsoStreamStatus);
        Assert.Equal(id, status.Id);
        return status.As<IsoStreamStatusHeader>();
    }

    /// <summary>OUT packet n of the tests: n, then a pattern, 1 to max-packet-size bytes long.</summary>
    private static byte[] OutPacket(int n)
    {
        var data = new byte[Math.Max(4, 1 + n * 53 % IsoTestDevice.MaxPacketSize)];
        BinaryPrimitives.WriteInt32LittleEndian(data, n);
        for (var i = 4; i < data.Length; i++)
            data[i] = (byte)(n ^ i * 3);
        return data;
    }

    [Fact]
    public async Task Start_and_stop_are_answered_by_endpoint_parameters_and_state()
    {
        await using var r = await StartAsync();
        Assert.Equal(new IsoStreamStatusHeader(UsbStatus.Success, In), await StartStreamAsync(r, 10, In, 4, 2));
        Assert.Equal(UsbStatus.Invalid, (await StartStreamAsync(r, 11, In, 4, 2)).Status); // already started
        Assert.Equal(UsbStatus.Stall, (await StartStreamAsync(r, 12, Out, 0, 2)).Status);
        Assert.Equal(UsbStatus.Stall, (await StartStreamAsync(r, 13, Out, 33, 2)).Status);
        Assert.Equal(UsbStatus.Stall, (await StartStreamAsync(r, 14, Out, 4, 0)).Status);
        Assert.Equal(UsbStatus.Stall, (await StartStreamAsync(r, 15, Out, 4, 17)).Status);
        Assert.Equal(new IsoStreamStatusHeader(UsbStatus.Success, Out), await StartStreamAsync(r, 16, Out, 32, 16));

        r.Guest.Send(17, new StopIsoStreamHeader(In));
        Assert.Equal((17ul, new IsoStreamStatusHeader(UsbStatus.Success, In)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));
        r.Guest.Send(18, new StopIsoStreamHeader(In)); // stopping a stopped stream succeeds too
        Assert.Equal((18ul, new IsoStreamStatusHeader(UsbStatus.Success, In)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));

        // Control and absent endpoints get no reply at all, as from usbredirhost: UsbHostEdgeVmTests observes it against
        // libusbredirhost (usb-kbd steps start-iso-on-control-endpoint, start-iso-on-absent-endpoint).
        r.Guest.Send(20, new StartIsoStreamHeader(0x80, 4, 2));
        r.Guest.Send(21, new StartIsoStreamHeader(0x83, 4, 2));
        Assert.True(await r.Guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));

        await r.Device.DisposeAsync(); // unplugged
        await r.Guest.ExpectAsync(T.DeviceDisconnect);
        Assert.Equal(UsbStatus.IoError, (await StartStreamAsync(r, 22, Out, 4, 2)).Status);
        r.Guest.Send(23, new StopIsoStreamHeader(In)); // no reply to a stop while disconnected
        Assert.True(await r.Guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    private static async Task<(ulong, IsoStreamStatusHeader)> StatusOf(Task<ScriptedPeer.Received> received)
    {
        var r = await received;
        return (r.Id, r.As<IsoStreamStatusHeader>());
    }

    [Fact]
    public async Task Iso_requests_on_bulk_and_interrupt_endpoints_get_those_endpoints_status_packets()
    {
        var device = new LoopbackTestDevice();
        var (guest, hostSide) = await ScriptedPeer.ConnectAsync();
        await using var host = new UsbRedirHostSession(device, ByteStreamConnection.FromSocket(hostSide), new SessionLog());
        await using var _g = guest;
        host.Start();
        await guest.ExpectAnnouncementAsync();
        await HostSessionTests.ConfigureAsync(guest);

        // The answers' types are those libusbredirhost sends (UsbHostEdgeVmTests: usb-storage start-iso-on-bulk-endpoint,
        // usb-kbd start-iso-on-interrupt-endpoint).
        guest.Send(30, new StartIsoStreamHeader(0x81, 4, 2)); // bulk IN
        Assert.Equal(new BulkReceivingStatusHeader(0, 0x81, UsbStatus.Stall), (await guest.ExpectAsync(T.BulkReceivingStatus)).As<BulkReceivingStatusHeader>());
        guest.Send(31, new StartIsoStreamHeader(0x82, 4, 2)); // interrupt IN
        Assert.Equal(new InterruptReceivingStatusHeader(UsbStatus.Stall, 0x82), (await guest.ExpectAsync(T.InterruptReceivingStatus)).As<InterruptReceivingStatusHeader>());

        // stop_iso_stream stops whatever stream the endpoint runs, like usbredirhost (from its source; UsbHostEdgeVmTests
        // observes the answer's type on an idle interrupt endpoint, usb-kbd step stop-iso-on-interrupt-endpoint).
        guest.Send(32, new StartInterruptReceivingHeader(0x82));
        Assert.Equal(UsbStatus.Success, (await guest.ExpectAsync(T.InterruptReceivingStatus)).As<InterruptReceivingStatusHeader>().Status);
        guest.Send(33, new StopIsoStreamHeader(0x82));
        var stopped = await guest.ExpectAsync(T.InterruptReceivingStatus);
        Assert.Equal((33ul, UsbStatus.Success), (stopped.Id, stopped.As<InterruptReceivingStatusHeader>().Status));
        device.QueueInterrupt(0xA5);
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task In_stream_sends_every_packet_in_order_numbered_from_zero_on_each_start()
    {
        await using var r = await StartAsync();
        Assert.Equal(UsbStatus.Success, (await StartStreamAsync(r, 40, In, 4, 2)).Status);
        r.Device.FailInPacket(5, UsbStatus.Babble);
        var first = await r.ReadInAsync(16, transfers: 2);
        for (var i = 0; i < first.Count; i++)
        {
            var h = first[i].As<IsoPacketHeader>();
            Assert.Equal((ulong)i, first[i].Id);
            Assert.Equal(In, h.Endpoint);
            if (i == 5)
            {
                Assert.Equal(new IsoPacketHeader(In, UsbStatus.Babble, 0), h); // a failed packet goes out empty, with its status
                continue;
            }
            Assert.Equal(UsbStatus.Success, h.Status);
            Assert.Equal(IsoTestDevice.InPacket((uint)i), first[i].Payload);
            Assert.Equal(first[i].Payload.Length, h.Length);
        }
        Assert.Contains(first, p => p.Payload.Length == 4);
        Assert.Contains(first, p => p.Payload.Length > 100);

        r.Guest.Send(41, new StopIsoStreamHeader(In));
        Assert.Equal(UsbStatus.Success, (await r.Guest.ExpectAsync(T.IsoStreamStatus)).As<IsoStreamStatusHeader>().Status);
        Assert.Equal(UsbStatus.Success, (await StartStreamAsync(r, 42, In, 4, 2)).Status);
        var again = await r.ReadInAsync(8, transfers: 2);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (ulong)i), again.Select(p => p.Id));
        Assert.Equal(Enumerable.Range(16, 8).Select(i => IsoTestDevice.InPacket((uint)i)), again.Select(p => p.Payload));
    }

    [Fact]
    public async Task Out_stream_buffers_half_the_ring_before_the_device_plays_it_in_order()
    {
        await using var r = await StartAsync();
        Assert.Equal(UsbStatus.Success, (await StartStreamAsync(r, 50, Out, 4, 4)).Status); // ring of 16: prefill 8
        for (var n = 0; n < 7; n++)
            r.SendOut((ulong)(100 + n), OutPacket(n));
        Assert.Empty(await r.SyncAsync());
        r.Time.Advance(100 * Ms);
        Assert.Equal(0, r.Device.Scheduled(Out));
        Assert.Empty(r.Device.Received);

        r.SendOut(107, OutPacket(7));
        await r.SyncAsync();
        Assert.Equal(2, r.Device.Scheduled(Out)); // both filled transfers at once
        for (var n = 8; n < 12; n++) // while streaming, each filled transfer goes at once
            r.SendOut((ulong)(100 + n), OutPacket(n));
        await r.SyncAsync();
        Assert.Equal(3, r.Device.Scheduled(Out));
        r.Time.Advance(20 * Ms);
        await Eventually.TrueAsync(() => r.Device.Received.Count == 12, "the device played the three transfers");
        Assert.Equal(Enumerable.Range(0, 12).Select(OutPacket), r.Device.Received);
        Assert.Equal(0, r.Host.IsoOutPacketsDropped);
    }

    [Fact]
    public async Task Out_underflow_refills_half_the_ring_before_playing_again()
    {
        await using var r = await StartAsync();
        await StartStreamAsync(r, 51, Out, 2, 2); // ring of 4: prefill 2
        r.SendOut(1, OutPacket(0));
        r.SendOut(2, OutPacket(1));
        await r.SyncAsync();
        r.Time.Advance(10 * Ms);
        await r.PlayedAsync(2, dryRuns: 1);
        r.SendOut(3, OutPacket(2)); // the device ran dry: this one waits for a second
        await r.SyncAsync();
        r.Time.Advance(50 * Ms);
        Assert.Equal(0, r.Device.Scheduled(Out));
        Assert.Equal(2, r.Device.Received.Count);
        r.SendOut(4, OutPacket(3));
        await r.SyncAsync();
        r.Time.Advance(10 * Ms);
        await r.PlayedAsync(4, dryRuns: 2);
        Assert.Equal(Enumerable.Range(0, 4).Select(OutPacket), r.Device.Received);
    }

    [Fact]
    public async Task Out_overflow_drops_until_the_device_has_played_half_the_ring()
    {
        await using var r = await StartAsync();
        await StartStreamAsync(r, 52, Out, 2, 2); // ring of 4
        for (var n = 0; n < 10; n++) // the clock stands still: 0-3 fill the ring, 4 overflows and 5-6 go with it, 7 overflows, 8-9 go
            r.SendOut((ulong)n, OutPacket(n));
        await r.SyncAsync();
        Assert.Equal(6, r.Host.IsoOutPacketsDropped);
        r.Time.Advance(20 * Ms);
        await r.PlayedAsync(4, dryRuns: 1);
        r.SendOut(10, OutPacket(10));
        r.SendOut(11, OutPacket(11));
        await r.SyncAsync();
        r.Time.Advance(20 * Ms);
        await r.PlayedAsync(6, dryRuns: 2);
        Assert.Equal(new[] { 0, 1, 2, 3, 10, 11 }.Select(OutPacket), r.Device.Received);
        Assert.Single(r.Host.Log.Entries, e => e.Level == SessionLogLevel.Warning && e.Message.Contains("faster than the device plays"));
    }

    [Fact]
    public async Task Out_packets_too_large_or_without_a_stream_get_inval_and_one_log_entry()
    {
        await using var r = await StartAsync();
        r.SendOut(60, OutPacket(0)); // not started
        Assert.Equal((60ul, new IsoStreamStatusHeader(UsbStatus.Invalid, Out)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));
        await StartStreamAsync(r, 61, Out, 2, 2);
        r.SendOut(62, new byte[IsoTestDevice.MaxPacketSize + 1]);
        Assert.Equal((62ul, new IsoStreamStatusHeader(UsbStatus.Invalid, Out)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));
        r.SendOut(63, new byte[IsoTestDevice.MaxPacketSize]); // exactly max packet size is fine
        Assert.Empty(await r.SyncAsync());
        // One entry per endpoint and stream: a start resets it, so both refusals are on record.
        var refusals = r.Host.Log.Entries.Where(e => e.Message.Contains("iso_packet on endpoint 0x02 refused")).Select(e => e.Message).ToArray();
        Assert.Equal(2, refusals.Length);
        Assert.Contains("no iso stream is started", refusals[0]);
        Assert.Contains($"{IsoTestDevice.MaxPacketSize + 1} bytes exceed its max packet size", refusals[1]);
    }

    [Fact]
    public async Task Out_errors_are_reported_once_per_transfer_with_its_first_packet_id()
    {
        await using var r = await StartAsync();
        await StartStreamAsync(r, 70, Out, 2, 2);
        r.Device.FailOutPacket(0, UsbStatus.IoError);
        r.Device.FailOutPacket(1, UsbStatus.Babble);
        r.SendOut(700, OutPacket(0));
        r.SendOut(701, OutPacket(1));
        await r.SyncAsync();
        r.Time.Advance(10 * Ms);
        Assert.Equal((700ul, new IsoStreamStatusHeader(UsbStatus.IoError, Out)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));
        Assert.True(await r.Guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
        r.SendOut(702, OutPacket(2)); // the stream plays on
        r.SendOut(703, OutPacket(3));
        await r.SyncAsync();
        r.Time.Advance(10 * Ms);
        await Eventually.TrueAsync(() => r.Device.Received.Count == 2, "the next transfer played");
        Assert.Equal([OutPacket(2), OutPacket(3)], r.Device.Received);
    }

    [Fact]
    public async Task In_stream_that_stalls_is_cleared_and_restarted_once_then_reported_stalled()
    {
        await using var r = await StartAsync();
        await StartStreamAsync(r, 80, In, 2, 2);
        Assert.Equal([0ul, 1, 2, 3], (await r.ReadInAsync(4, 2)).Select(p => p.Id));
        r.Device.Halt(In);
        var restarted = await r.ReadInAsync(4, 2); // no status: the host cleared the halt and started over
        Assert.Equal([0ul, 1, 2, 3], restarted.Select(p => p.Id));
        Assert.Equal(Enumerable.Range(4, 4).Select(i => IsoTestDevice.InPacket((uint)i)), restarted.Select(p => p.Payload));

        r.Device.Halt(In, wedge: true); // clear-halt "succeeds" but the endpoint stays stalled: the restart dies at once
        Assert.Equal((0ul, new IsoStreamStatusHeader(UsbStatus.Stall, In)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));
        Assert.Equal(UsbStatus.Success, (await StartStreamAsync(r, 81, In, 2, 2)).Status); // the guest may start it again
        Assert.Contains(r.Host.Log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("0x81 stopped: Stall"));
    }

    [Fact]
    public async Task Out_stream_that_stalls_is_cleared_once_then_reported_stalled()
    {
        await using var r = await StartAsync();
        await StartStreamAsync(r, 90, Out, 2, 2);
        r.SendOut(1, OutPacket(0));
        r.SendOut(2, OutPacket(1));
        await r.SyncAsync();
        r.Device.Halt(Out); // the transfer at the device fails; the host clears the halt and plays on
        await Eventually.TrueAsync(() => r.Host.Log.Entries.Any(e => e.Message.Contains("cleared the halt")), "the halt was cleared");
        r.SendOut(3, OutPacket(2));
        r.SendOut(4, OutPacket(3));
        await r.SyncAsync();
        r.Time.Advance(10 * Ms);
        await r.PlayedAsync(2, dryRuns: 2); // the failed transfer left the ring dry once, this one again
        Assert.Equal([OutPacket(2), OutPacket(3)], r.Device.Received);

        r.Device.Halt(Out, wedge: true); // clear-halt "succeeds" but the endpoint stays stalled
        r.SendOut(5, OutPacket(4));
        r.SendOut(6, OutPacket(5));
        await Eventually.TrueAsync(() => r.Host.Log.Entries.Count(e => e.Message.Contains("cleared the halt")) == 2, "the first death was cleared");
        r.SendOut(7, OutPacket(6)); // the next transfer dies again before any succeeded
        r.SendOut(8, OutPacket(7));
        Assert.Equal((0ul, new IsoStreamStatusHeader(UsbStatus.Stall, Out)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));
        r.SendOut(9, OutPacket(9)); // the stream is gone
        Assert.Equal((9ul, new IsoStreamStatusHeader(UsbStatus.Invalid, Out)), await StatusOf(r.Guest.ExpectAsync(T.IsoStreamStatus)));
    }

    [Fact]
    public async Task Reset_reports_streams_stalled_while_configuration_and_alt_changes_stop_them_silently()
    {
        await using var r = await StartAsync();
        await StartStreamAsync(r, 100, In, 2, 2);
        await StartStreamAsync(r, 101, Out, 2, 2);
        await r.ReadInAsync(2, 2);
        r.Guest.Do(c => c.SendReset());
        var stalls = new[] { await r.Guest.ExpectAsync(T.IsoStreamStatus), await r.Guest.ExpectAsync(T.IsoStreamStatus) };
        Assert.Equal([Out, In], stalls.Select(s => s.As<IsoStreamStatusHeader>()).Where(s => s.Status == UsbStatus.Stall).Select(s => s.Endpoint).Order());
        r.Time.Advance(50 * Ms);
        Assert.True(await r.Guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));

        r.Guest.Send(102, new SetConfigurationHeader(1)); // reset left the device unconfigured
        await r.Guest.ExpectAsync(T.InterfaceInfo);
        await r.Guest.ExpectAsync(T.EpInfo);
        await r.Guest.ExpectAsync(T.ConfigurationStatus);
        await SelectAltAsync(r.Guest, 1);
        await StartStreamAsync(r, 103, In, 2, 2);
        await r.ReadInAsync(2, 2);
        await SelectAltAsync(r.Guest, 0); // no stall status: the guest asked for the change
        r.Time.Advance(50 * Ms);
        Assert.True(await r.Guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));

        await SelectAltAsync(r.Guest, 1);
        await StartStreamAsync(r, 104, In, 2, 2);
        await r.ReadInAsync(2, 2);
        r.Guest.Send(105, new SetConfigurationHeader(0));
        await r.Guest.ExpectAsync(T.InterfaceInfo);
        await r.Guest.ExpectAsync(T.EpInfo);
        Assert.Equal(new ConfigurationStatusHeader(UsbStatus.Success, 0), (await r.Guest.ExpectAsync(T.ConfigurationStatus)).As<ConfigurationStatusHeader>());
        r.Time.Advance(50 * Ms);
        Assert.True(await r.Guest.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task A_peer_that_stops_reading_makes_the_host_drop_iso_in_by_queued_bytes_not_grow_memory()
    {
        // One transfer of 32 packets: ref = 32 × 192 bytes; dropping starts at 3 × ref queued and stops below ref / 2.
        await using var r = await StartAsync(kernelBufferBytes: 16 * 1024);
        await StartStreamAsync(r, 110, In, 32, 1);
        const long reference = 32 * IsoTestDevice.MaxPacketSize;
        var maxQueued = await r.PumpWhileNotReadingAsync(1, 33 * Ms, 6000, q => q.QueuedBytes);
        Assert.InRange(maxQueued, 1, 3 * reference + IsoTestDevice.MaxPacketSize + 64);
        Assert.Single(r.Host.Log.Entries, e => e.Message.Contains("not keeping up"));

        // Once the peer reads again the queue drains, sending resumes, and the ids skip what was dropped.
        r.Guest.ResumeReading();
        await Eventually.TrueAsync(() => r.Host.Connection.Outgoing.QueuedBytes == 0, "the queue drained");
        var resumeAt = r.Device.InProduced + 64;
        await r.PumpAsync(In, 1, 33 * Ms, () => r.Device.InProduced >= resumeAt);
        var received = await r.SyncAsync();
        var ids = received.Select(p => p.Id).ToArray();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.True(ids[^1] - ids[0] + 1 > (ulong)ids.Length, "no gap where packets were dropped");
        Assert.All(received, p => Assert.Equal(IsoTestDevice.InPacket((uint)p.Id), p.Payload));
    }

    [Fact]
    public async Task A_peer_that_stops_reading_makes_the_host_drop_iso_in_beyond_800_queued_packets()
    {
        // 16 transfers of 32 packets: 3 × ref is 295 KB, more than 800 packets take, so the packet count rule acts first.
        await using var r = await StartAsync(kernelBufferBytes: 16 * 1024);
        await StartStreamAsync(r, 111, In, 32, 16);
        var maxQueued = await r.PumpWhileNotReadingAsync(16, 513 * Ms, 2500, q => q.QueuedChunks);
        Assert.InRange(maxQueued, 1, 801);
        r.Guest.ResumeReading();
    }

    [Fact]
    public async Task A_hostile_peer_streaming_iso_packets_nowhere_gets_bounded_replies_and_one_log_entry_per_endpoint()
    {
        await using var r = await StartAsync(kernelBufferBytes: 16 * 1024);
        r.Guest.PauseReading();
        var junk = new byte[IsoTestDevice.MaxPacketSize];
        for (var n = 0; n < 20_000; n++)
        {
            r.SendOut((ulong)n, junk, Out); // iso, but not started
            if (n % 10 == 0)
                r.SendOut((ulong)n, junk, 0x01); // not an endpoint of this alt setting
        }
        await Eventually.TrueAsync(() => r.Host.PacketsReceived >= 22_000, "the host read every packet");
        Assert.InRange(r.Host.Connection.Outgoing.QueuedChunks, 0, 801);
        Assert.False(r.Host.Completion.IsCompleted);
        Assert.Equal(0, r.Host.Log.ErrorCount);
        Assert.Single(r.Host.Log.Entries, e => e.Message.Contains("iso_packet on endpoint 0x02 refused"));
        Assert.Single(r.Host.Log.Entries, e => e.Message.Contains("iso_packet on endpoint 0x01 refused"));

        r.Guest.ResumeReading();
        var before = await r.SyncAsync(); // the session still answers
        Assert.All(before, p => Assert.Equal(new IsoStreamStatusHeader(UsbStatus.Invalid, Out), p.As<IsoStreamStatusHeader>()));
    }
}
