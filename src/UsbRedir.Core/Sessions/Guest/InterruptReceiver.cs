using UsbRedir.Devices;

namespace UsbRedir.Sessions;

/// <summary>
/// Interrupt IN on the usb-guest side. usbredir has no interrupt IN request: the guest starts interrupt receiving once
/// and the host streams a packet per completed transfer. This turns that stream back into transfers: each read takes the
/// oldest packet (or waits for one), packets nobody is reading yet are kept up to a limit (oldest dropped beyond it), and
/// the first read after a stop (reset, configuration change, a stream that died) starts receiving again.
/// </summary>
internal sealed class InterruptReceiver(byte endpoint, int queueLimit, SessionLog log)
{
    private readonly object _gate = new();
    private readonly Queue<(UsbStatus Status, byte[] Data)> _packets = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private bool _receiving;
    private bool _dropWarned;

    private sealed class Waiter(Memory<byte> buffer)
    {
        public Memory<byte> Buffer { get; } = buffer;
        public TaskCompletionSource<UsbTransferResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public byte Endpoint { get; } = endpoint;

    /// <summary>One interrupt IN transfer. <paramref name="start"/> sends start_interrupt_receiving and returns the host's status.</summary>
    public async Task<UsbTransferResult> ReadAsync(Memory<byte> buffer, Func<Task<UsbStatus>> start, CancellationToken cancellationToken)
    {
        Waiter waiter;
        LinkedListNode<Waiter> node;
        bool startNow;
        lock (_gate)
        {
            if (_packets.TryDequeue(out var packet))
                return Copy(packet.Status, packet.Data, buffer.Span);
            waiter = new Waiter(buffer);
            node = _waiters.AddLast(waiter);
            startNow = !_receiving;
            _receiving = true;
        }
        await using var onCancel = cancellationToken.Register(() => Remove(node, UsbStatus.Cancelled));
        if (startNow)
        {
            var status = await start();
            if (status != UsbStatus.Success)
            {
                log.Warning($"the peer refused interrupt receiving on endpoint 0x{Endpoint:x2}: {status}");
                Stop(status);
            }
        }
        return await waiter.Completion.Task;
    }

    /// <summary>A packet of the stream (read loop): it completes the oldest read, or waits for one.</summary>
    public void OnPacket(UsbStatus status, ReadOnlySpan<byte> data)
    {
        Waiter? waiter;
        lock (_gate)
        {
            if (!_receiving)
                return; // data still in the pipe after a stop: no one asked for it any more
            if (_waiters.First is { } first)
            {
                waiter = first.Value;
                _waiters.RemoveFirst();
            }
            else
            {
                if (_packets.Count >= queueLimit)
                {
                    _packets.Dequeue();
                    if (!_dropWarned)
                        log.Warning($"nobody reads interrupt endpoint 0x{Endpoint:x2}: dropping its oldest packets");
                    _dropWarned = true;
                }
                _packets.Enqueue((status, data.ToArray()));
                return;
            }
        }
        // Removed from the list under the lock, so its buffer is ours alone now.
        waiter.Completion.TrySetResult(Copy(status, data, waiter.Buffer.Span));
    }

    /// <summary>Receiving stopped (reset, configuration change, the stream died, device gone): queued data is dropped, reads complete with <paramref name="status"/>.</summary>
    public void Stop(UsbStatus status)
    {
        Waiter[] waiters;
        lock (_gate)
        {
            _receiving = false;
            _dropWarned = false;
            _packets.Clear();
            waiters = _waiters.ToArray();
            _waiters.Clear();
        }
        foreach (var w in waiters)
            w.Completion.TrySetResult(UsbTransferResult.Failed(status));
    }

    private void Remove(LinkedListNode<Waiter> node, UsbStatus status)
    {
        lock (_gate)
        {
            if (node.List is null)
                return; // already completed
            _waiters.Remove(node);
        }
        node.Value.Completion.TrySetResult(UsbTransferResult.Failed(status));
    }

    private static UsbTransferResult Copy(UsbStatus status, ReadOnlySpan<byte> data, Span<byte> buffer)
    {
        if (data.Length > buffer.Length)
        {
            data[..buffer.Length].CopyTo(buffer);
            return new UsbTransferResult(UsbStatus.Babble, buffer.Length);
        }
        data.CopyTo(buffer);
        return new UsbTransferResult(status, data.Length);
    }
}
