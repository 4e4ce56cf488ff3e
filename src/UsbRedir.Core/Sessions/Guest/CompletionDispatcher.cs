namespace UsbRedir.Sessions;

/// <summary>
/// Hands completed requests to their callers, many per hand-off, and lets what those callers send next (typically the
/// next transfer) leave in one write: the completion rounds and the watchdog of the batching machinery (<see cref="SendBatch"/>).
/// <para>Why: completing each caller with its own thread-pool hop costs a wake-up and a socket write per transfer,
/// which is most of the cost of a 16 KiB bulk transfer over loopback. Running the callers on the read loop while it
/// reads would let user code hold the read loop: a caller that waited synchronously there for another transfer would
/// wait for an answer only the read loop can deliver. So the read loop only queues results, and they are delivered by
/// a drainer, in order, each caller's continuation running synchronously inside a send batch. The usual drainer is the
/// read loop's own thread once its next read is registered and reading goes on without it
/// (<see cref="DeliverOnThisThread"/>, from <see cref="Transport.ReadPump"/>'s idle hook); otherwise a thread-pool
/// thread (<see cref="StartDelivering"/>).</para>
/// <para>A caller may still block the drainer (sync-over-async, a long computation). A watchdog that runs while a
/// drainer does notices a delivery that has not returned for a whole check interval, writes what the held caller sent
/// before it stopped, and starts a second drainer for the results queued behind it, so one held caller delays the
/// others by at most about two intervals and never deadlocks them.</para>
/// </summary>
internal sealed class CompletionDispatcher<T> : IThreadPoolWorkItem
{
    /// <summary>How long one delivery may hold a drainer before the results behind it get another thread.</summary>
    internal static readonly TimeSpan StallCheck = TimeSpan.FromMilliseconds(20);

    private readonly object _gate = new();
    private readonly Queue<(IDispatchedCompletion<T> Completion, T Result)> _ready = new();
    private readonly UsbRedirSession _session;
    private readonly Timer _watchdog;
    private int _drainers;
    private long _delivered;
    private long _deliveredAtLastCheck;
    private bool _watching;

    public CompletionDispatcher(UsbRedirSession session)
    {
        _session = session;
        using (ExecutionContext.SuppressFlow()) // the watchdog is ours: it carries no caller's context
            _watchdog = new Timer(static state => ((CompletionDispatcher<T>)state!).Check(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>
    /// Completes <paramref name="completion"/> with <paramref name="result"/>
    /// on a drainer, never on this thread. Results are delivered in the order they were queued (the backlog behind a
    /// held caller that a second drainer takes over may overtake that one caller).
    /// </summary>
    /// <param name="later">True on the read loop while it handles a chunk: the result waits for <see cref="StartDelivering"/>
    /// at the end of the chunk, so the drainer's first round holds every answer the chunk brought.</param>
    public void Complete(IDispatchedCompletion<T> completion, T result, bool later = false)
    {
        lock (_gate)
            _ready.Enqueue((completion, result));
        if (!later)
            StartDelivering();
    }

    /// <summary>Starts a drainer for what is queued, unless one is running.</summary>
    public void StartDelivering()
    {
        lock (_gate)
        {
            if (_drainers != 0 || _ready.Count == 0)
                return;
            StartDrainerLocked();
        }
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>
    /// Delivers what is queued on this thread, unless a drainer is running (it takes these too). For a thread that is
    /// free to run callers: the read loop's, once its next read is registered and reading goes on without it. The
    /// watchdog covers this drainer as any other.
    /// </summary>
    public void DeliverOnThisThread()
    {
        lock (_gate)
        {
            if (_drainers != 0 || _ready.Count == 0)
                return;
            StartDrainerLocked();
        }
        Drain();
    }

    private void StartDrainerLocked()
    {
        _drainers++;
        if (_watching)
            return;
        _watching = true;
        _deliveredAtLastCheck = Interlocked.Read(ref _delivered);
        _watchdog.Change(StallCheck, StallCheck);
    }

    void IThreadPoolWorkItem.Execute() => Drain();

    /// <summary>A drainer: delivers what is queued, a round at a time, writing what the callers sent after each round.</summary>
    private void Drain()
    {
        while (true)
        {
            int round;
            lock (_gate)
            {
                round = _ready.Count;
                if (round == 0)
                {
                    _drainers--;
                    return;
                }
            }
            // A lone result gains nothing from a batch: what its caller sends leaves at once, as it would anywhere.
            // The batch's end writes what the round's callers sent, in one write.
            using (round > 1 ? SendBatch.Begin(_session) : default)
            {
                // Only what was queued when the round began: results keep arriving while callers run, and the
                // requests those callers made must leave before the drainer looks at more.
                for (var i = 0; i < round; i++)
                {
                    (IDispatchedCompletion<T> Completion, T Result) next;
                    lock (_gate)
                        if (!_ready.TryDequeue(out next))
                            break; // a second drainer took it
                    try
                    {
                        next.Completion.Complete(next.Result); // runs the caller's continuation here
                    }
                    catch (Exception e)
                    {
                        _session.Log.Error($"a caller's continuation failed while its transfer completed: {e.Message}");
                    }
                    Interlocked.Increment(ref _delivered);
                }
            }
        }
    }

    /// <summary>Timer thread: an escaping exception would end the process, so nothing here throws.</summary>
    private void Check()
    {
        bool rescue;
        lock (_gate)
        {
            if (_drainers == 0)
            {
                _watching = false;
                _watchdog.Change(Timeout.Infinite, Timeout.Infinite);
                return;
            }
            var delivered = Interlocked.Read(ref _delivered);
            if (delivered != _deliveredAtLastCheck)
            {
                _deliveredAtLastCheck = delivered;
                return;
            }
            // No delivery returned for a whole interval: a caller holds its drainer.
            rescue = _ready.Count > 0;
            if (rescue)
                _drainers++;
        }
        try
        {
            _session.Connection.Flush(); // what the held caller sent before it stopped (its batch would end only with it)
            if (rescue)
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        catch (Exception e)
        {
            _session.Log.Error($"handing completed transfers to another thread failed: {e.Message}");
        }
    }
}
