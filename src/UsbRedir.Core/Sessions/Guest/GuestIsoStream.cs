using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

/// <summary>
/// What isochronous IN and OUT share on the usb-guest side: the usbredir stream's life (start_iso_stream on the first
/// transfer, stop_iso_stream when the device's state changes, restart on the next transfer) and the host's
/// iso_stream_status, which either answers our start or reports, unsolicited (id 0), that the stream failed.
/// </summary>
/// <remarks>
/// Like QEMU's usb-redir, an error the host reports is kept and given to the next transfer of the endpoint; while it is
/// kept the stream is not restarted, so a stream that keeps dying reports every failure instead of restarting blindly.
/// The ids of our start and stop requests are this stream's own (status packets are matched by endpoint, never through
/// the session's request table); a status with any other id answers an earlier generation and is ignored.
/// Everything runs under <see cref="Gate"/>; completions run their continuations asynchronously, so completing under it is safe.
/// </remarks>
internal abstract class GuestIsoStream(RemoteUsbDevice device, UsbRedirGuestSession session, byte endpoint, TimeProvider time)
{
    private readonly long _epoch = time.GetTimestamp();
    private ulong _lastId;
    private ulong _startId;
    private ulong _stopId;
    private bool _awaitingStartReply;
    private UsbStatus? _pendingError;

    protected object Gate { get; } = new();

    protected UsbRedirGuestSession Session { get; } = session;

    protected TimeProvider Time { get; } = time;

    public byte Endpoint { get; } = endpoint;

    /// <summary>True while the host runs the stream (start sent and not refused, stopped or failed since).</summary>
    protected bool Started { get; private set; }

    /// <summary>True after a stop until the host confirms it: IN packets arriving meanwhile belong to the stopped stream.</summary>
    protected bool Draining { get; private set; }

    /// <summary>The plan the stream was last started with.</summary>
    protected IsoStreamPlan? Plan { get; private set; }

    /// <summary>Time on this stream's clock (monotonic, from the stream's creation).</summary>
    protected TimeSpan Now => Time.GetElapsedTime(_epoch);

    protected string Name => $"isochronous endpoint 0x{Endpoint:x2}";

    /// <summary>Takes the error the host reported, if one waits for a transfer to report it. Call under the gate.</summary>
    protected UsbStatus? TakePendingError()
    {
        var error = _pendingError;
        _pendingError = null;
        return error;
    }

    /// <summary>
    /// Starts the stream if it is not running. Returns the status a transfer must fail with instead (a kept error, or
    /// the send failed), or null when the stream runs. Call under the gate.
    /// </summary>
    protected UsbStatus? EnsureStarted(IsoStreamPlan plan)
    {
        if (Started)
            return null;
        if (TakePendingError() is { } kept)
            return kept;
        var id = ++_lastId;
        var start = new StartIsoStreamHeader(Endpoint, plan.PacketsPerUrb, plan.UrbCount);
        if (!Session.SendData(id, start, default))
            return device.Gone.IsCancellationRequested ? UsbStatus.IoError : UsbStatus.Invalid;
        Session.Log.Info($"started {Name}: {plan.PacketsPerUrb} packets per transfer, {plan.UrbCount} transfers, a packet every {plan.Period.TotalMicroseconds:0} µs");
        _startId = id;
        _awaitingStartReply = true;
        Started = true;
        Plan = plan;
        OnStarted();
        return null;
    }

    /// <summary>
    /// Stops the stream: pending transfers complete with <paramref name="status"/>, queued data is dropped, and the host
    /// is told (stop_iso_stream) when <paramref name="tellPeer"/> and the stream runs. The next transfer restarts it.
    /// </summary>
    public void Stop(UsbStatus status, bool tellPeer)
    {
        lock (Gate)
        {
            if (Started && tellPeer)
            {
                var id = ++_lastId;
                if (Session.SendData(id, new StopIsoStreamHeader(Endpoint), default))
                {
                    _stopId = id;
                    Draining = true;
                }
            }
            Started = false;
            _awaitingStartReply = false;
            _pendingError = null;
            CompletePending(status);
        }
    }

    /// <summary>iso_stream_status from the host (read loop).</summary>
    public void OnStatus(ulong id, UsbStatus status)
    {
        lock (Gate)
        {
            if (id != 0)
            {
                if (id == _stopId)
                    Draining = false; // everything the stopped stream sent has arrived
                if (!_awaitingStartReply || id != _startId)
                    return; // the answer to a stop, or to a start of a stream stopped since
                _awaitingStartReply = false;
                Draining = false;
                if (status == UsbStatus.Success)
                    return;
                Session.Log.Warning($"the peer refused to start {Name}: {status}");
            }
            else
            {
                if (!Started || status == UsbStatus.Success)
                    return; // a failure of a stream we stopped already, or news of nothing
                Session.Log.Warning($"the peer reports {Name} failed: {status}");
                if (status != UsbStatus.Stall)
                {
                    // The stream still runs (an OUT packet was refused, or a host transfer failed): the next transfer hears of it.
                    _pendingError = status;
                    OnFailed(status, stopped: false);
                    return;
                }
            }
            // Refused or stalled: the host no longer runs the stream.
            Started = false;
            _pendingError = status;
            OnFailed(status, stopped: true);
        }
    }

    /// <summary>The stream was (re)started. Call under the gate.</summary>
    protected virtual void OnStarted() { }

    /// <summary>The host reported <paramref name="status"/> (kept for the next transfer unless taken). Call under the gate.</summary>
    protected abstract void OnFailed(UsbStatus status, bool stopped);

    /// <summary>Completes every pending transfer with <paramref name="status"/> and drops queued data. Call under the gate.</summary>
    protected abstract void CompletePending(UsbStatus status);

    /// <summary>Runs on a timer thread, where an escaping exception would end the process: everything is caught and logged.</summary>
    protected void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            Session.Log.Error($"{Name}: {e.Message}");
        }
    }

    /// <summary>A transfer waiting for its bus time (and, for IN, its data); completed exactly once, under the gate.</summary>
    protected class GuestIsoTransfer(int packetCount)
    {
        public int PacketCount { get; } = packetCount;
        public bool Done { get; set; }
        public ITimer? Timer { get; set; }
        public TaskCompletionSource<UsbIsoTransferResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Waits for <paramref name="pending"/> (already queued under the gate): <paramref name="due"/> runs at
    /// <paramref name="dueTime"/> on the stream's clock, cancelling completes it Cancelled. Call outside the gate: a timer
    /// already due may fire on the creating thread (a fake clock does), which must not re-enter the gate mid-change.
    /// </summary>
    protected async Task<UsbIsoTransferResult> WaitAsync(GuestIsoTransfer pending, TimeSpan dueTime, Action due, CancellationToken cancellationToken)
    {
        var delay = dueTime - Now;
        var timer = Time.CreateTimer(_ => Guarded(due), null, delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        lock (Gate)
        {
            if (pending.Done)
                timer.Dispose();
            else
                pending.Timer = timer;
        }
        await using var onCancel = cancellationToken.Register(() =>
        {
            lock (Gate)
                if (!pending.Done)
                    Complete(pending, UsbIsoTransferResult.Failed(UsbStatus.Cancelled, pending.PacketCount));
        });
        return await pending.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Completes a pending transfer: drops it from the stream's queue and stops its timer. Call under the gate.</summary>
    protected void Complete(GuestIsoTransfer pending, UsbIsoTransferResult result)
    {
        pending.Done = true;
        Forget(pending);
        pending.Timer?.Dispose();
        pending.Completion.TrySetResult(result);
    }

    /// <summary>Removes a completed transfer from the subclass's queue. Call under the gate.</summary>
    protected abstract void Forget(GuestIsoTransfer pending);

    protected bool DeviceGone => device.Gone.IsCancellationRequested;
}
