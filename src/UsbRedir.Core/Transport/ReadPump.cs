namespace UsbRedir.Transport;

/// <summary>
/// The read loop of a <see cref="ByteStreamConnection"/>: read a chunk, hand it to the callback, read the next.
/// <para>Written out with awaiters instead of as an async method for one reason: when a read finds the stream empty,
/// the thread registers the read's continuation first and then runs <c>whileWaiting</c>. So the thread that handled the
/// last chunk can go on with the work that chunk produced (the usb-guest role completes its callers there), while
/// the next chunk is handled on whichever thread completes the read. An async method could only do that work before
/// the read (delaying it) or hand it to another thread (a wake-up per chunk, which is what a small transfer over
/// loopback costs most). Whatever <c>whileWaiting</c> does, it never delays reading.</para>
/// <para>Nothing here throws: a failed read, a zero-length read (the peer closed) or an exception from a callback ends
/// the connection through <c>ended</c>.</para>
/// </summary>
internal sealed class ReadPump
{
    /// <summary>What one read asks for: a whole burst of replies to the transfers in flight fits.</summary>
    private const int ReadSize = 256 * 1024;

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[ReadSize];
    private readonly Func<ReadOnlyMemory<byte>, ValueTask> _onReceived;
    private readonly Action? _whileWaiting;
    private readonly Action<int> _received;
    private readonly Action<Exception?> _ended;
    private readonly CancellationToken _stop;
    // Allocated once: the continuations registered for every read and every handler that went asynchronous.
    private readonly Action _onReadCompleted;
    private readonly Action _onHandlerCompleted;
    // Owned by the one step of the loop that runs at a time: set before a continuation is registered, read after.
    private ValueTask<int> _read;
    private ValueTask _handling;

    /// <param name="onReceived">Handles a chunk; the memory is reused once the returned task completes.</param>
    /// <param name="whileWaiting">Runs when a read found the stream empty, after its continuation was registered.</param>
    /// <param name="received">Counts the bytes of each chunk.</param>
    /// <param name="ended">Called when reading stops: null when the peer closed, else why (a read failing after the end may call it again).</param>
    public ReadPump(Stream stream, Func<ReadOnlyMemory<byte>, ValueTask> onReceived, Action? whileWaiting,
        Action<int> received, Action<Exception?> ended, CancellationToken stop)
    {
        _stream = stream;
        _onReceived = onReceived;
        _whileWaiting = whileWaiting;
        _received = received;
        _ended = ended;
        _stop = stop;
        _onReadCompleted = OnReadCompleted;
        _onHandlerCompleted = OnHandlerCompleted;
    }

    /// <summary>Starts reading on a thread-pool thread (never on the caller's, which may have a synchronization context).</summary>
    public void Start() => ThreadPool.UnsafeQueueUserWorkItem(static pump => pump.ReadOn(), this, preferLocal: false);

    /// <summary>Reads and handles chunks while they are already there; returns once a read or a handler has to wait.</summary>
    private void ReadOn()
    {
        while (true)
        {
            try
            {
                _read = _stream.ReadAsync(_buffer, _stop);
                if (!_read.IsCompleted)
                {
                    // From here on the read's completion owns the loop (it may already be running on another thread).
                    _read.GetAwaiter().UnsafeOnCompleted(_onReadCompleted);
                    break;
                }
            }
            catch (Exception e)
            {
                End(e);
                return;
            }
            if (!HandleRead())
                return;
        }
        try
        {
            _whileWaiting?.Invoke();
        }
        catch (Exception e)
        {
            End(e);
        }
    }

    /// <summary>
    /// Reports the end. This runs on thread-pool threads, where an escaping exception would end the process (a pwsh
    /// host with it), so a failure of the end callback itself is contained here: the connection has ended either way.
    /// </summary>
    private void End(Exception? reason)
    {
        try
        {
            _ended(reason);
        }
        catch (Exception)
        {
        }
    }

    private void OnReadCompleted()
    {
        if (HandleRead())
            ReadOn();
    }

    /// <summary>Handles the completed read; true to read on, false when the connection ended or a handler has to wait.</summary>
    private bool HandleRead()
    {
        try
        {
            var n = _read.GetAwaiter().GetResult();
            if (n == 0)
            {
                End(null);
                return false;
            }
            _received(n);
            _handling = _onReceived(_buffer.AsMemory(0, n));
            if (_handling.IsCompleted)
            {
                _handling.GetAwaiter().GetResult(); // rethrows a handler's failure
                return true;
            }
            _handling.GetAwaiter().UnsafeOnCompleted(_onHandlerCompleted);
            return false;
        }
        catch (Exception e)
        {
            End(e);
            return false;
        }
    }

    private void OnHandlerCompleted()
    {
        try
        {
            _handling.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            End(e);
            return;
        }
        ReadOn();
    }
}
