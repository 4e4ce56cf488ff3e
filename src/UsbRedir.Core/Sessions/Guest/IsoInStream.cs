using UsbRedir.Devices;

namespace UsbRedir.Sessions;

/// <summary>
/// Isochronous IN on the usb-guest side. usbredir has no iso IN request: the first transfer starts the host's stream
/// and the host then sends one iso_packet per bus interval. This turns that stream back into transfers: packets fill
/// the pending transfers' packets in order (the oldest transfer first); packets nobody waits for are queued up to
/// <see cref="IsoStreamPlan.QueueLimit"/>, the oldest dropped beyond it (one warning per start).
/// </summary>
/// <remarks>
/// A transfer whose packets have not all arrived waits until its bus time (its packets' periods, after the transfers
/// queued before it) plus <see cref="IsoStreamPlan.Slack"/>, then completes with the missing packets empty (success,
/// length 0): what QEMU hands its guest while the host's stream fills up, and what a real bus gives when a device sends
/// nothing. Unlike QEMU we do not hold data back until 60 ms are buffered: a consumer that queues a few transfers has
/// that buffer already. A packet longer than its slot is cut to it and reported as babble, as QEMU does.
/// </remarks>
internal sealed class IsoInStream(RemoteUsbDevice device, UsbRedirGuestSession session, byte endpoint, TimeProvider time)
    : GuestIsoStream(device, session, endpoint, time)
{
    private readonly Queue<(UsbStatus Status, byte[] Data)> _queue = new();
    private readonly LinkedList<Reader> _readers = new();
    private TimeSpan _busTimeEnd;
    private bool _dropWarned;
    private long _dropped;

    private sealed class Reader(Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets) : GuestIsoTransfer(packets.Count)
    {
        public Memory<byte> Buffer { get; } = buffer;
        public IReadOnlyList<UsbIsoPacket> Packets { get; } = packets;
        public UsbIsoPacketResult[] Results { get; } = new UsbIsoPacketResult[packets.Count];
        public int Next { get; set; }
        public bool Full => Next == Packets.Count;
    }

    /// <summary>IN packets dropped because nobody read them in time (queue full) or they came while the stream was stopped.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public async Task<UsbIsoTransferResult> TransferAsync(Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets, IsoStreamPlan plan,
        CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return UsbIsoTransferResult.Failed(UsbStatus.Cancelled, packets.Count);
        var reader = new Reader(buffer, packets);
        TimeSpan deadline;
        lock (Gate)
        {
            if ((EnsureStarted(plan) ?? TakePendingError()) is { } failure)
                return UsbIsoTransferResult.Failed(failure, packets.Count);
            while (!reader.Full && _queue.TryDequeue(out var queued))
                Fill(reader, queued.Status, queued.Data);
            if (reader.Full)
                return Result(reader);
            var busStart = _readers.Count > 0 && _busTimeEnd > Now ? _busTimeEnd : Now;
            _busTimeEnd = busStart + plan.Period * packets.Count;
            deadline = _busTimeEnd + plan.Slack;
            _readers.AddLast(reader);
        }
        return await WaitAsync(reader, deadline, () => OnDeadline(reader), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An iso_packet from the host (read loop). The data is copied before this returns.</summary>
    public void OnPacket(UsbStatus status, ReadOnlySpan<byte> data)
    {
        lock (Gate)
        {
            if (!Started || Draining)
            {
                Interlocked.Increment(ref _dropped); // still in the pipe after a stop: no one asked for it any more
                return;
            }
            if (_readers.First is { } first)
            {
                var reader = first.Value;
                Fill(reader, status, data);
                if (reader.Full)
                    Complete(reader);
                return;
            }
            var limit = Plan!.PacketLimit;
            var kept = data.Length > limit ? data[..limit] : data;
            _queue.Enqueue((data.Length > limit ? UsbStatus.Babble : status, kept.ToArray()));
            if (_queue.Count > Plan.QueueLimit)
            {
                _queue.Dequeue();
                Interlocked.Increment(ref _dropped);
                if (!_dropWarned)
                    Session.Log.Warning($"nobody reads {Name} fast enough: dropping its oldest packets (keeping {Plan.QueueLimit})");
                _dropWarned = true;
            }
        }
    }

    protected override void OnStarted()
    {
        _dropWarned = false;
        _queue.Clear();
    }

    protected override void OnFailed(UsbStatus status, bool stopped)
    {
        if (_readers.Count == 0)
            return; // the next transfer reports it
        TakePendingError(); // the waiting transfers report it: what has not arrived failed
        foreach (var reader in _readers.ToArray())
        {
            for (var i = reader.Next; i < reader.Results.Length; i++)
                reader.Results[i] = new UsbIsoPacketResult(status, 0);
            reader.Next = reader.Results.Length;
            Complete(reader);
        }
    }

    protected override void CompletePending(UsbStatus status)
    {
        _queue.Clear();
        foreach (var reader in _readers.ToArray())
            Complete(reader, UsbIsoTransferResult.Failed(status, reader.Results.Length));
    }

    /// <summary>A transfer's time is up: it and every transfer before it complete with what arrived.</summary>
    private void OnDeadline(Reader expired)
    {
        lock (Gate)
        {
            if (expired.Done)
                return;
            while (_readers.First is { } first)
            {
                Complete(first.Value);
                if (ReferenceEquals(first.Value, expired))
                    break;
            }
        }
    }

    private void Complete(Reader reader) => Complete(reader, Result(reader));

    protected override void Forget(GuestIsoTransfer pending) => _readers.Remove((Reader)pending);

    private static UsbIsoTransferResult Result(Reader reader) => new(UsbStatus.Success, reader.Results);

    /// <summary>Puts one packet's data into the reader's next packet, cut to the packet's length (babble when longer).</summary>
    private static void Fill(Reader reader, UsbStatus status, ReadOnlySpan<byte> data)
    {
        var slot = reader.Packets[reader.Next];
        var length = Math.Min(data.Length, slot.Length);
        data[..length].CopyTo(reader.Buffer.Span.Slice(slot.Offset, length));
        reader.Results[reader.Next] = new UsbIsoPacketResult(data.Length > slot.Length ? UsbStatus.Babble : status, length);
        reader.Next++;
    }
}
