namespace UsbRedir.Devices.Software;

// USB 3 bulk streams (USB 3.2 section 8.12.1.4): the host allocates streams 1..n on SuperSpeed bulk endpoints whose
// companion descriptor offers them, and then addresses each transfer to one stream. Every stream is its own FIFO, so a
// transfer waiting on one stream (a UAS status read for a command still running) never holds up another. Streams live
// in the endpoint's state, so a reset, a configuration change or an alternate-setting change drops them with the endpoint,
// and their waiting transfers complete Cancelled, as the endpoint's others do.
public abstract partial class SoftwareUsbDevice
{
    public Task<UsbStreamsResult> AllocateStreamsAsync(IReadOnlyList<byte> endpoints, int streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(new UsbStreamsResult(UsbStatus.Cancelled, 0));
        lock (SyncRoot)
        {
            if (_disposed)
                return Task.FromResult(new UsbStreamsResult(UsbStatus.IoError, 0));
            if (streams < 1 || endpoints.Count == 0)
                return Task.FromResult(new UsbStreamsResult(UsbStatus.Invalid, 0));
            var states = new List<EndpointState>(endpoints.Count);
            foreach (var endpoint in endpoints)
            {
                // Like the xHCI driver: only active stream-capable bulk endpoints, and not twice without a free in between.
                if (!_endpoints.TryGetValue(endpoint, out var state) || state.Definition.MaxStreams == 0 || state.Streams != 0)
                    return Task.FromResult(new UsbStreamsResult(UsbStatus.Invalid, 0));
                states.Add(state);
            }
            // Every endpoint gets the same count, bounded by the endpoint that offers the fewest.
            var granted = Math.Min(streams, states.Min(s => s.Definition.MaxStreams));
            foreach (var state in states)
                state.Streams = granted;
            foreach (var endpoint in endpoints)
                OnStreamsChanged(endpoint, granted);
            return Task.FromResult(new UsbStreamsResult(UsbStatus.Success, granted));
        }
    }

    public Task<UsbStatus> FreeStreamsAsync(IReadOnlyList<byte> endpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbStatus.Cancelled);
        lock (SyncRoot)
        {
            if (_disposed)
                return Task.FromResult(UsbStatus.IoError);
            if (endpoints.Count == 0 || endpoints.Any(e => !_endpoints.TryGetValue(e, out var state) || state.Streams == 0))
                return Task.FromResult(UsbStatus.Invalid);
            foreach (var endpoint in endpoints)
            {
                var state = _endpoints[endpoint];
                CompleteStreamPending(state, UsbStatus.Cancelled);
                state.Streams = 0;
                OnStreamsChanged(endpoint, 0);
            }
            return Task.FromResult(UsbStatus.Success);
        }
    }

    public Task<UsbTransferResult> StreamTransferAsync(byte endpoint, uint streamId, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (streamId == 0)
            return TransferAsync(endpoint, buffer, cancellationToken);
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Cancelled));
        lock (SyncRoot)
        {
            if (_disposed)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.IoError));
            // A stream that was never allocated (or is past the allocation) is a bad request, as the xHCI driver says (EINVAL).
            if (!_endpoints.TryGetValue(endpoint, out var state) || streamId > (uint)state.Streams)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Invalid));
            if (state.Halted)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Stall));
            if (!state.StreamPending.TryGetValue(streamId, out var queue))
                state.StreamPending[streamId] = queue = new LinkedList<PendingEndpointTransfer>();
            if (queue.Count == 0 && TryStreamTransferGuarded(endpoint, streamId, buffer) is { } immediate)
            {
                ServicePendingTransfers();
                return Task.FromResult(immediate);
            }

            var pending = new PendingEndpointTransfer(state, buffer, streamId);
            pending.Node = queue.AddLast(pending);
            if (cancellationToken.CanBeCanceled)
                pending.Registration = cancellationToken.Register(p => CancelPending((PendingEndpointTransfer)p!), pending);
            return pending.Completion.Task;
        }
    }

    /// <summary>Bulk streams allocated on an active endpoint (0 when none).</summary>
    protected int GetAllocatedStreams(byte endpoint) => _endpoints.TryGetValue(endpoint, out var state) ? state.Streams : 0;

    /// <summary>
    /// Moves data on stream <paramref name="streamId"/> (1..allocated) of a bulk endpoint (never halted when called). Return the
    /// result, or null when that stream has nothing to give or cannot take data yet: the transfer then waits in the stream's FIFO
    /// until <see cref="ServicePendingTransfers"/> retries it. The default refuses, as a device without streams does.
    /// Called with <see cref="SyncRoot"/> held.
    /// </summary>
    protected virtual UsbTransferResult? TryStreamTransfer(byte endpoint, uint streamId, Memory<byte> buffer) =>
        UsbTransferResult.Failed(UsbStatus.Invalid);

    /// <summary>
    /// Streams were allocated (<paramref name="streams"/> &gt; 0) or freed (0) on an endpoint by the host. Not called when a
    /// reset or a configuration or alternate-setting change drops them: those have their own hooks. Called with <see cref="SyncRoot"/> held.
    /// </summary>
    protected virtual void OnStreamsChanged(byte endpoint, int streams)
    {
    }

    /// <summary>Retries waiting stream transfers, oldest first per stream; true when any completed.</summary>
    private bool ServicePendingStreamTransfers()
    {
        var progressed = false;
        foreach (var state in _endpoints.Values)
        {
            foreach (var (streamId, queue) in state.StreamPending)
            {
                while (queue.First is { } node)
                {
                    if (state.Halted)
                    {
                        Complete(node.Value, UsbTransferResult.Failed(UsbStatus.Stall));
                        continue;
                    }
                    queue.RemoveFirst();
                    var result = TryStreamTransferGuarded(state.Definition.Address, streamId, node.Value.Buffer);
                    if (result is null)
                    {
                        queue.AddFirst(node);
                        break;
                    }
                    Complete(node.Value, result.Value);
                    progressed = true;
                }
            }
        }
        return progressed;
    }

    private static void CompleteStreamPending(EndpointState state, UsbStatus status)
    {
        foreach (var queue in state.StreamPending.Values)
            while (queue.First is { } node)
                Complete(node.Value, UsbTransferResult.Failed(status));
    }

    private UsbTransferResult? TryStreamTransferGuarded(byte endpoint, uint streamId, Memory<byte> buffer)
    {
        try
        {
            return TryStreamTransfer(endpoint, streamId, buffer);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return UsbTransferResult.Failed(UsbStatus.IoError);
        }
    }
}
