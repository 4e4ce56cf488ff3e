namespace UsbRedir.Devices.Software;

// Isochronous endpoints of software devices. A bus gives an iso endpoint one service interval every
// 2^(bInterval-1) (micro)frames and moves at most one packet in it, so a transfer of n packets takes n intervals: the
// device keeps, per endpoint, the next interval no transfer has claimed and schedules each new transfer right behind
// the ones queued (or in the next interval when the endpoint is idle - a caller that lets the queue run dry loses the
// intervals in between, as on a real bus). One timer on the device's TimeProvider completes transfers when their last
// interval is over; only then are the IN packets produced and the OUT packets consumed, through the hooks below.
public abstract partial class SoftwareUsbDevice
{
    private ITimer? _isoTimer;
    private long _isoClockStart;
    private bool _isoClockStarted;

    /// <summary>The clock that paces isochronous endpoints (tests substitute a fake one); set it in the subclass constructor.</summary>
    protected TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public Task<UsbIsoTransferResult> IsoTransferAsync(byte endpoint, Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(packets);
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbIsoTransferResult.Failed(UsbStatus.Cancelled, packets.Count));
        lock (SyncRoot)
        {
            if (_disposed)
                return Task.FromResult(UsbIsoTransferResult.Failed(UsbStatus.IoError, packets.Count));
            if (!_endpoints.TryGetValue(endpoint, out var state) || state.Definition.Type != UsbEndpointType.Isochronous ||
                !PacketsFit(packets, buffer.Length, state.Definition))
                return Task.FromResult(UsbIsoTransferResult.Failed(UsbStatus.Invalid, packets.Count));
            if (state.Halted)
                return Task.FromResult(UsbIsoTransferResult.Failed(UsbStatus.Stall, packets.Count));

            var period = ServiceInterval(state.Definition);
            var now = IsoClockNow();
            var first = Math.Max(state.NextIsoInterval, now.Ticks / period.Ticks + 1);
            state.NextIsoInterval = first + packets.Count;
            var transfer = new PendingIsoTransfer(state, buffer, packets.ToArray(), first, period * (first + packets.Count));
            transfer.Node = state.IsoPending.AddLast(transfer);
            if (cancellationToken.CanBeCanceled)
                transfer.Registration = cancellationToken.Register(t => CancelIso((PendingIsoTransfer)t!), transfer);
            ArmIsoTimer();
            return transfer.Completion.Task;
        }
    }

    /// <summary>
    /// Produces one IN packet of an isochronous endpoint, in the order the bus would: <paramref name="interval"/> counts the
    /// endpoint's service intervals (gaps mean the host let the schedule run dry). Fill at most <paramref name="packet"/>'s
    /// length (never more than the endpoint moves per interval) and return the status and the bytes written. The default
    /// sends nothing. Called with <see cref="SyncRoot"/> held.
    /// </summary>
    protected virtual UsbIsoPacketResult ProduceIsoPacket(byte endpoint, long interval, Span<byte> packet) => new(UsbStatus.Success, 0);

    /// <summary>Consumes one OUT packet of an isochronous endpoint (see <see cref="ProduceIsoPacket"/>); the default discards it. Called with <see cref="SyncRoot"/> held.</summary>
    protected virtual UsbStatus ConsumeIsoPacket(byte endpoint, long interval, ReadOnlySpan<byte> packet) => UsbStatus.Success;

    /// <summary>Iso transfers scheduled on an endpoint and not yet completed. Call with <see cref="SyncRoot"/> held.</summary>
    protected int ScheduledIsoTransfers(byte endpoint) => _endpoints.TryGetValue(endpoint, out var state) ? state.IsoPending.Count : 0;

    private TimeSpan ServiceInterval(UsbEndpointDefinition endpoint) => UsbIsoServiceInterval.For(Speed, endpoint.Interval);

    /// <summary>Offsets and lengths inside the buffer, no overlaps, and OUT packets no larger than one interval carries.</summary>
    private static bool PacketsFit(IReadOnlyList<UsbIsoPacket> packets, int bufferLength, UsbEndpointDefinition endpoint)
    {
        if (packets.Count == 0)
            return false;
        var limit = endpoint.MaxPayloadPerInterval;
        var byOffset = packets.OrderBy(p => p.Offset).ToArray();
        var end = 0;
        foreach (var p in byOffset)
        {
            if (p.Offset < end || p.Length < 0 || p.Offset > bufferLength - p.Length || (!endpoint.IsIn && p.Length > limit))
                return false;
            end = p.Offset + p.Length;
        }
        return true;
    }

    private TimeSpan IsoClockNow()
    {
        if (!_isoClockStarted)
        {
            _isoClockStart = TimeProvider.GetTimestamp();
            _isoClockStarted = true;
        }
        return TimeProvider.GetElapsedTime(_isoClockStart);
    }

    /// <summary>Points the timer at the earliest due transfer (or stops it). Call with <see cref="SyncRoot"/> held.</summary>
    private void ArmIsoTimer()
    {
        TimeSpan? next = null;
        foreach (var state in _endpoints.Values)
            if (state.IsoPending.First is { } head && (next is null || head.Value.Due < next))
                next = head.Value.Due;
        if (next is null)
        {
            _isoTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var delay = next.Value - IsoClockNow();
        if (delay < TimeSpan.Zero)
            delay = TimeSpan.Zero;
        if (_isoTimer is null)
            _isoTimer = TimeProvider.CreateTimer(_ => OnIsoTimer(), null, delay, Timeout.InfiniteTimeSpan);
        else
            _isoTimer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void OnIsoTimer()
    {
        lock (SyncRoot)
        {
            if (_disposed)
                return;
            var now = IsoClockNow();
            foreach (var state in _endpoints.Values)
                while (state.IsoPending.First is { } head && head.Value.Due <= now)
                    FinishIso(head.Value);
            ServicePendingTransfers(); // a hook may have made bulk or interrupt data available
            ArmIsoTimer();
        }
    }

    /// <summary>The transfer's intervals are over: run its packets through the hooks, in order, and complete it.</summary>
    private void FinishIso(PendingIsoTransfer transfer)
    {
        var definition = transfer.Endpoint.Definition;
        var limit = definition.MaxPayloadPerInterval;
        var results = new UsbIsoPacketResult[transfer.Packets.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var packet = transfer.Packets[i];
            var data = transfer.Buffer.Span.Slice(packet.Offset, packet.Length);
            var interval = transfer.FirstInterval + i;
            try
            {
                if (definition.IsIn)
                {
                    var room = data[..Math.Min(data.Length, limit)];
                    var produced = ProduceIsoPacket(definition.Address, interval, room);
                    results[i] = produced with { ActualLength = produced.Status == UsbStatus.Success ? Math.Clamp(produced.ActualLength, 0, room.Length) : 0 };
                }
                else
                {
                    var status = ConsumeIsoPacket(definition.Address, interval, data);
                    results[i] = new UsbIsoPacketResult(status, status == UsbStatus.Success ? data.Length : 0);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                results[i] = new UsbIsoPacketResult(UsbStatus.IoError, 0);
            }
            if (transfer.Node?.List is null)
            {
                // A hook halted the endpoint (or reconfigured the device), which already completed this transfer.
                return;
            }
        }
        CompleteIso(transfer, new UsbIsoTransferResult(UsbStatus.Success, results));
    }

    private void CancelIso(PendingIsoTransfer transfer)
    {
        lock (SyncRoot)
        {
            if (transfer.Node?.List is null)
                return;
            CompleteIso(transfer, UsbIsoTransferResult.Failed(UsbStatus.Cancelled, transfer.Packets.Count), unregister: false);
            ArmIsoTimer();
        }
    }

    private static void CompleteIso(PendingIsoTransfer transfer, UsbIsoTransferResult result, bool unregister = true)
    {
        var state = transfer.Endpoint;
        if (transfer.Node?.List is not null)
            state.IsoPending.Remove(transfer.Node);
        transfer.Node = null;
        // An idle endpoint starts over in the next interval: the intervals a cancelled transfer had claimed are free again.
        if (state.IsoPending.Count == 0)
            state.NextIsoInterval = 0;
        // Unregister, not Dispose: Dispose would wait for a running cancel callback that is itself waiting for our lock.
        if (unregister)
            transfer.Registration.Unregister();
        transfer.Completion.TrySetResult(result);
    }

    /// <summary>Fails every scheduled iso transfer of an endpoint (reset, reconfiguration, halt, unplug).</summary>
    private static void CompletePendingIso(EndpointState state, UsbStatus status)
    {
        while (state.IsoPending.First is { } node)
            CompleteIso(node.Value, UsbIsoTransferResult.Failed(status, node.Value.Packets.Count));
    }

    private void StopIsoClock()
    {
        _isoTimer?.Dispose();
        _isoTimer = null;
    }
}
