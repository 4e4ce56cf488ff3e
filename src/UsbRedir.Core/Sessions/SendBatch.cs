namespace UsbRedir.Sessions;

/// <summary>
/// A send batch: while one is open on a thread for a session, what that session sends waits in its send queue and
/// leaves in one socket write when the batch ends, instead of one write per packet. The one home of the batching
/// machinery; its four parts, and where each lives:
/// <list type="number">
/// <item><b>Replies to one received chunk</b> (both roles): the read loop handles each packet of a chunk inside a batch
/// (<see cref="WhileHandling"/>, in <see cref="UsbRedirSession"/>'s receive path) and writes once after the chunk, or
/// before it waits for a handler that went asynchronous.</item>
/// <item><b>The read loop's idle hook</b> (<see cref="Transport.ReadPump"/>'s <c>whileWaiting</c>, i.e.
/// <see cref="UsbRedirSession.OnReadLoopIdle"/>): once the next read is registered and reading goes on without it, the
/// read loop's thread is free; the usb-guest role uses it to complete the callers whose answers the chunks brought.</item>
/// <item><b>Completion rounds</b> (<see cref="CompletionDispatcher{T}"/>): callers are completed a round at a time, their
/// continuations running synchronously inside a batch (<see cref="Begin"/>), so the next transfers they start leave in
/// one write.</item>
/// <item><b>The dispatcher's watchdog</b> (<see cref="CompletionDispatcher{T}"/>): a caller that blocks its drainer
/// keeps its batch open; after a check interval without progress the watchdog writes what is queued and hands the
/// results behind the held caller to another thread.</item>
/// </list>
/// Batches nest (one begun inside another restores the outer one when it ends) and belong to one thread: a batch is a
/// thread-static scope, so a send from any other thread is written at once, as without batching.
/// </summary>
internal readonly struct SendBatch : IDisposable
{
    // The session whose sends on this thread wait for the end of the batch; null: none is open.
    [ThreadStatic] private static UsbRedirSession? t_open;

    private readonly UsbRedirSession? _session;
    private readonly UsbRedirSession? _outer;
    private readonly bool _writeAtEnd;

    private SendBatch(UsbRedirSession session, bool writeAtEnd)
    {
        _session = session;
        _outer = t_open;
        _writeAtEnd = writeAtEnd;
        t_open = session;
    }

    /// <summary>Opens a batch for <paramref name="session"/> on this thread; disposing it writes what it queued.</summary>
    public static SendBatch Begin(UsbRedirSession session) => new(session, writeAtEnd: true);

    /// <summary>
    /// Opens a batch for the synchronous part of one received packet's handler; disposing it leaves the write to the
    /// read loop (after the chunk), which writes once for all the chunk's packets.
    /// </summary>
    public static SendBatch WhileHandling(UsbRedirSession session) => new(session, writeAtEnd: false);

    /// <summary>True when a send of <paramref name="session"/> on this thread should wait for the batch's end.</summary>
    public static bool IsOpenFor(UsbRedirSession session) => ReferenceEquals(t_open, session);

    /// <summary>Ends the batch (a default instance: nothing), restoring the one it interrupted.</summary>
    public void Dispose()
    {
        if (_session is null)
            return;
        t_open = _outer;
        if (_writeAtEnd)
            _session.Connection.Flush();
    }
}
