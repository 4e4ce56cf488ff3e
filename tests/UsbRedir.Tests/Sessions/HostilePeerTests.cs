using System.Buffers.Binary;
using System.Net.Sockets;
using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// Hostile peers against both roles: garbage, oversize lengths, packets the other role may not send, unknown ids, a second
/// hello, a peer that stops reading, a peer that never answers. Each must end in a clear logged error (or be ignored with
/// one), with bounded memory, and never crash the process.
/// </summary>
public class HostilePeerTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;

    // Kernel socket buffers for the back-pressure tests: small beside the 8 MiB send queue, so what a peer that stops
    // reading holds back does not depend on the machine's TCP buffer settings (autotuning can absorb megabytes).
    private const int SmallKernelBuffers = 64 * 1024;

    /// <param name="wrap">Wraps the session's socket stream (to count what its read loop allocates).</param>
    private static async Task<(UsbRedirGuestSession Guest, ScriptedPeer Host)> StartGuestAsync(UsbRedirGuestOptions? options = null, int? kernelBufferBytes = null,
        Func<Stream, Stream>? wrap = null)
    {
        var (host, guestSide) = await ScriptedPeer.ConnectHostAsync(kernelBufferBytes: kernelBufferBytes);
        var guest = new UsbRedirGuestSession(Connect(guestSide, wrap), new SessionLog(), options);
        guest.Start();
        return (guest, host);
    }

    private static async Task<(UsbRedirHostSession Host, ScriptedPeer Guest, LoopbackTestDevice Device)> StartHostAsync(int? kernelBufferBytes = null,
        Func<Stream, Stream>? wrap = null)
    {
        var device = new LoopbackTestDevice();
        var (guest, hostSide) = await ScriptedPeer.ConnectAsync(kernelBufferBytes: kernelBufferBytes);
        var host = new UsbRedirHostSession(device, Connect(hostSide, wrap), new SessionLog());
        host.Start();
        await guest.ExpectAnnouncementAsync();
        return (host, guest, device);
    }

    private static ByteStreamConnection Connect(Socket socket, Func<Stream, Stream>? wrap) => wrap is null
        ? ByteStreamConnection.FromSocket(socket)
        : new ByteStreamConnection(wrap(new NetworkStream(socket, ownsSocket: true)), socket.RemoteEndPoint?.ToString() ?? "?");

    /// <summary>
    /// At most what a session's read loop may allocate from its start until it has refused a packet claiming 0xFFFF_FF00
    /// bytes (measured: 5 KiB host, 75 KiB guest); buffering the claim would pass it at once.
    /// Counted on the read loop's own thread (<see cref="ReadLoopAllocations"/>), so tests running beside it cannot disturb it.
    /// </summary>
    private const long OversizeRefusalAllocationBound = 1024 * 1024;

    /// <summary>A main header as the peer would write it after the hello exchange (64-bit ids: 16 bytes).</summary>
    private static byte[] RawHeader(uint type, uint length, ulong id = 1)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, type);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), length);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), id);
        return header;
    }

    private static byte[] RawHello()
    {
        var packet = RawHeader((uint)T.Hello, 68, 0).Concat(new byte[68]).ToArray();
        "evil twin"u8.CopyTo(packet.AsSpan(16));
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(16 + 64), (uint)UsbRedirCapabilities.All);
        return packet;
    }

    private static async Task<UsbRedirException> EndedWithProtocolErrorAsync(UsbRedirSession session)
    {
        var reason = await session.Completion.WaitAsync(Quick);
        var error = Assert.IsType<UsbRedirException>(reason);
        Assert.Equal("ProtocolViolation", error.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.ProtocolError, error.Category);
        Assert.NotNull(error.RecommendedAction);
        Assert.Contains(session.Log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("protocol error from the peer"));
        return error;
    }

    // ---------------------------------------------------------------- against our usb-guest role

    [Fact]
    public async Task Guest_role_garbage_ends_the_session_with_a_named_error()
    {
        var (guest, host) = await StartGuestAsync();
        await using var _g = guest;
        await using var _h = host;
        var garbage = new byte[256];
        new Random(7).NextBytes(garbage);
        host.SendRaw(garbage);
        await EndedWithProtocolErrorAsync(guest);
        await host.Closed.WaitAsync(Quick);
    }

    [Fact]
    public async Task Guest_role_refuses_an_oversize_length_without_allocating_it()
    {
        ReadLoopAllocations? reads = null;
        var (guest, host) = await StartGuestAsync(wrap: s => reads = new ReadLoopAllocations(s));
        await using var _g = guest;
        await using var _h = host;
        host.SendRaw(RawHeader((uint)T.BulkPacket, 0xFFFF_FF00));
        host.SendRaw(new byte[1024]); // what follows is never buffered in full
        var error = await EndedWithProtocolErrorAsync(guest);
        Assert.Contains("exceeds", error.Message);
        await reads!.HandlingDone.WaitAsync(Quick);
        Assert.True(reads.Chunks >= 1, "no chunk handling was measured");
        Assert.InRange(reads.Bytes, 0, OversizeRefusalAllocationBound);
    }

    [Fact]
    public async Task Guest_role_refuses_a_packet_only_a_guest_may_send()
    {
        var (guest, host) = await StartGuestAsync();
        await using var _g = guest;
        await using var _h = host;
        host.SendRaw([.. RawHeader((uint)T.SetConfiguration, 1), 1]);
        var error = await EndedWithProtocolErrorAsync(guest);
        Assert.Contains("may not be sent to a usb-guest", error.Message);
    }

    [Fact]
    public async Task Guest_role_ignores_a_second_hello_with_a_warning()
    {
        var (guest, host) = await StartGuestAsync();
        await using var _g = guest;
        await using var _h = host;
        host.SendRaw(RawHello());
        var remote = await ScriptedHostDevice.AttachAsync(host, guest); // and it still works
        Assert.Contains(guest.Log.Entries, e => e.Level == SessionLogLevel.Warning && e.Message.Contains("second hello"));
        Assert.False(guest.Completion.IsCompleted);
        Assert.Equal((ushort)0x5678, remote.ProductId);
    }

    [Fact]
    public async Task Guest_role_logs_answers_to_unknown_ids_boundedly_and_catches_mismatched_answers()
    {
        var (guest, host) = await StartGuestAsync();
        await using var _g = guest;
        await using var _h = host;
        var remote = await ScriptedHostDevice.AttachAsync(host, guest);

        for (var i = 0; i < 3000; i++)
            host.Send(1_000_000 + (ulong)i, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x100, 0, 0));
        // A bulk IN answered with a control packet, then one answered with more data than it asked for.
        var mismatched = remote.TransferAsync(0x81, new byte[16], default);
        var request = await host.ExpectAsync(T.BulkPacket);
        host.Send(request.Id, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0, 0, 0));
        Assert.Equal(UsbStatus.IoError, (await mismatched.WaitAsync(Quick)).Status);
        var buffer = new byte[16];
        var greedy = remote.TransferAsync(0x81, buffer, default);
        request = await host.ExpectAsync(T.BulkPacket);
        host.Send(request.Id, request.As<BulkPacketHeader>() with { Length = 64 }, Enumerable.Repeat((byte)0xEE, 64).ToArray());
        Assert.Equal(new UsbTransferResult(UsbStatus.Babble, 16), await greedy.WaitAsync(Quick));
        Assert.All(buffer, b => Assert.Equal(0xEE, b));

        // A second device_connect while connected is refused; the session goes on.
        host.Send(0, new DeviceConnectHeader(UsbSpeed.Full, 0, 0, 0, 1, 2, 3));
        var alive = remote.TransferAsync(0x01, new byte[] { 1 }, default);
        ScriptedHostDevice.Answer(host, await host.ExpectAsync(T.BulkPacket));
        Assert.Equal(UsbTransferResult.Ok(1), await alive.WaitAsync(Quick));

        var errors = guest.Log.Entries.Where(e => e.Level == SessionLogLevel.Error).Select(e => e.Message).ToList();
        Assert.InRange(errors.Count(m => m.Contains("answers no request of ours")), 10, 15); // 3000 bad answers, a bounded log
        Assert.Contains(errors, m => m.Contains("answered bulk_packet request") && m.Contains("control_packet"));
        Assert.Contains(errors, m => m.Contains("sent 64 bytes for request"));
        Assert.Contains(errors, m => m.Contains("device_connect while its device is still connected"));
        Assert.False(guest.Completion.IsCompleted);
        Assert.Same(remote, guest.Device);
    }

    [Fact]
    public async Task Guest_role_times_out_requests_a_host_never_answers()
    {
        var (guest, host) = await StartGuestAsync(new UsbRedirGuestOptions
        {
            RequestTimeout = TimeSpan.FromMilliseconds(300),
            CancelGrace = TimeSpan.FromMilliseconds(200),
        });
        await using var _g = guest;
        await using var _h = host;
        var remote = await ScriptedHostDevice.AttachAsync(host, guest);

        Assert.Equal(UsbStatus.Timeout, await remote.SetConfigurationAsync(1, default).WaitAsync(Quick));
        await host.ExpectAsync(T.SetConfiguration);
        var control = await remote.ControlTransferAsync(new UsbSetupPacket(0xC0, 1, 0, 0, 4), new byte[4], default).WaitAsync(Quick);
        Assert.Equal(UsbStatus.Timeout, control.Status);
        var sent = await host.ExpectAsync(T.ControlPacket);
        Assert.Equal(sent.Id, (await host.ExpectAsync(T.CancelDataPacket)).Id); // the guest told the host it gave up
        host.Send(sent.Id, sent.As<ControlPacketHeader>() with { Status = UsbStatus.Cancelled, Length = 0 }); // a late answer: dropped quietly

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var bulk = await remote.TransferAsync(0x81, new byte[512], cts.Token).WaitAsync(Quick); // bulk has no timeout; the caller cancels
        Assert.Equal(UsbStatus.Cancelled, bulk.Status);
        Assert.Equal(T.BulkPacket, (await host.NextAsync()).Type);
        Assert.Equal(T.CancelDataPacket, (await host.NextAsync()).Type);
        Assert.Equal(0, guest.PendingRequestCount);
        Assert.Contains(guest.Log.Entries, e => e.Level == SessionLogLevel.Warning && e.Message.Contains("did not answer configuration_status"));
        Assert.DoesNotContain(guest.Log.Entries, e => e.Level == SessionLogLevel.Error);
    }

    [Fact]
    public async Task Guest_role_is_held_back_by_a_host_that_stops_reading_and_memory_stays_bounded()
    {
        var (guest, host) = await StartGuestAsync(kernelBufferBytes: SmallKernelBuffers);
        await using var _g = guest;
        await using var _h = host;
        var remote = await ScriptedHostDevice.AttachAsync(host, guest);
        host.PauseReading();

        const int Count = 300, Size = 64 * 1024; // 19 MiB of OUT data against an 8 MiB send queue
        var chunk = new byte[Size];
        var transfers = Enumerable.Range(0, Count).Select(_ => remote.TransferAsync(0x01, chunk, default)).ToArray();
        var queue = guest.Connection.Outgoing;
        await Eventually.TrueAsync(() => queue.IsFull, "the guest's send queue is full");
        Assert.InRange(queue.QueuedBytes, 0, queue.MaxBytes + Size + 64);
        Assert.True(guest.PendingRequestCount < Count, $"{guest.PendingRequestCount} transfers were queued; the rest should wait for space");
        Assert.DoesNotContain(transfers, t => t.IsCompleted);

        host.ResumeReading();
        for (var i = 0; i < Count; i++)
            ScriptedHostDevice.Answer(host, await host.ExpectAsync(T.BulkPacket));
        foreach (var t in transfers)
            Assert.Equal(UsbTransferResult.Ok(Size), await t.WaitAsync(Quick));
    }

    // ---------------------------------------------------------------- against our usb-host role

    [Fact]
    public async Task Host_role_refuses_an_oversize_length()
    {
        ReadLoopAllocations? reads = null;
        var (host, guest, _) = await StartHostAsync(wrap: s => reads = new ReadLoopAllocations(s));
        await using var _h = host;
        await using var _g = guest;
        guest.SendRaw(RawHeader((uint)T.BulkPacket, 0xFFFF_FF00));
        guest.SendRaw(new byte[1024]);
        var error = await EndedWithProtocolErrorAsync(host);
        Assert.Contains("exceeds", error.Message);
        await reads!.HandlingDone.WaitAsync(Quick);
        Assert.True(reads.Chunks >= 2, "the hello and the oversize header were not both measured");
        Assert.InRange(reads.Bytes, 0, OversizeRefusalAllocationBound);
        await guest.Closed.WaitAsync(Quick);
    }

    [Fact]
    public async Task Host_role_refuses_a_packet_only_a_host_may_send()
    {
        var (host, guest, _) = await StartHostAsync();
        await using var _h = host;
        await using var _g = guest;
        guest.SendRaw([.. RawHeader((uint)T.DeviceConnect, 10), .. new byte[10]]);
        var error = await EndedWithProtocolErrorAsync(host);
        Assert.Contains("may not be sent to a usb-host", error.Message);
    }

    [Fact]
    public async Task Host_role_ignores_a_second_hello_and_an_unasked_ack_with_logged_messages()
    {
        var (host, guest, _) = await StartHostAsync();
        await using var _h = host;
        await using var _g = guest;
        guest.SendRaw(RawHello());
        guest.Do(c => c.SendDeviceDisconnectAck());
        guest.Do(c => c.SendCancelDataPacket(424242)); // unknown id: nothing to cancel, nothing sent
        guest.Send(5, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x0100, 0, 18));
        var reply = await guest.ExpectAsync(T.ControlPacket);
        Assert.Equal(5ul, reply.Id);
        Assert.Equal(UsbStatus.Success, reply.As<ControlPacketHeader>().Status);
        Assert.Contains(host.Log.Entries, e => e.Level == SessionLogLevel.Warning && e.Message.Contains("second hello"));
        Assert.Contains(host.Log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("device_disconnect_ack without a device_disconnect"));
        Assert.False(host.Completion.IsCompleted);
        Assert.Equal(HostDeviceState.Connected, host.DeviceState);
    }

    [Fact]
    public async Task Host_role_holds_back_for_a_guest_that_stops_reading_and_drops_stream_data_beyond_its_limit()
    {
        var (host, guest, device) = await StartHostAsync(SmallKernelBuffers);
        await using var _h = host;
        await using var _g = guest;
        await HostSessionTests.ConfigureAsync(guest);

        // 200 x 64 KiB into the device while the guest reads, then 200 reads of it while it does not.
        const int Count = 200, Size = 64 * 1024;
        for (var i = 0; i < Count; i++)
        {
            var data = Enumerable.Repeat((byte)i, Size).ToArray();
            guest.Send(100 + (ulong)i, new BulkPacketHeader(0x01, UsbStatus.Success, Size, 0), data);
            await guest.ExpectAsync(T.BulkPacket);
        }
        guest.Send(2, new StartInterruptReceivingHeader(0x82));
        Assert.Equal(UsbStatus.Success, (await guest.ExpectAsync(T.InterruptReceivingStatus)).As<InterruptReceivingStatusHeader>().Status);
        guest.PauseReading();
        for (var i = 0; i < Count; i++)
            guest.Send(1000 + (ulong)i, new BulkPacketHeader(0x81, UsbStatus.Success, Size, 0));
        await Eventually.TrueAsync(() => host.Connection.Outgoing.IsFull && host.PendingTransferCount > 0,
            "the host's send queue is full and reads are held back");
        // With the socket and the send queue full, the interrupt stream keeps producing: past usbredirhost's 800 queued
        // packets its data is dropped rather than queued.
        for (var i = 0; i < 3000; i++)
            device.QueueInterrupt((byte)i);
        await Eventually.TrueAsync(() => host.Log.Entries.Any(e => e.Level == SessionLogLevel.Warning && e.Message.Contains("not keeping up")),
            "the host drops interrupt data for the guest that does not read");
        var queue = host.Connection.Outgoing;
        Assert.InRange(queue.QueuedBytes, 0, queue.MaxBytes + Size + 64);
        Assert.True(host.PendingTransferCount > 0, "some reads must be held back while the guest does not read");

        guest.ResumeReading();
        var answered = new HashSet<ulong>();
        while (answered.Count < Count)
        {
            var p = await guest.NextAsync();
            if (p.Type != T.BulkPacket)
                continue;
            // Every read answered once, with the data written for it (the device hands its data out in read order).
            Assert.True(answered.Add(p.Id), $"read {p.Id} answered twice");
            Assert.Equal(Size, p.Payload.Length);
            Assert.True(p.Payload.All(b => b == (byte)(p.Id - 1000)), $"read {p.Id} got the wrong data");
        }
        Assert.Contains(host.Log.Entries, e => e.Level == SessionLogLevel.Warning && e.Message.Contains("not keeping up"));
    }
}
