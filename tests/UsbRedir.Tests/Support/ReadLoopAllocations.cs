namespace UsbRedir.Tests.Support;

/// <summary>
/// A stream wrapper that counts what the code reading it allocates while it handles what it read: the managed bytes
/// the reading thread allocates between a read returning and the next read being asked for (on that same thread).
/// <para>Why: GC.GetTotalAllocatedBytes counts the whole process, so tests running in parallel make a bound on it
/// flaky. ByteStreamConnection's read loop handles each chunk synchronously on the thread its read completed on and
/// then reads again, so per-thread counters taken at those two points see exactly the session's work on that chunk.</para>
/// </summary>
internal sealed class ReadLoopAllocations(Stream inner) : Stream
{
    private readonly TaskCompletionSource _readAfterDispose = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytes;
    private int _chunks;
    private int _handlingThread = -1;
    private long _handlingStartedAt;
    private volatile bool _disposed;

    /// <summary>Bytes allocated handling the chunks read so far (only spans that began and ended on one thread).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Chunks whose handling was measured.</summary>
    public int Chunks => Volatile.Read(ref _chunks);

    /// <summary>Completes when the reader asked for more after the stream was disposed: the last chunk's handling is counted.</summary>
    public Task HandlingDone => _readAfterDispose.Task;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EndHandling();
        if (_disposed)
        {
            _readAfterDispose.TrySetResult();
            throw new ObjectDisposedException(nameof(ReadLoopAllocations));
        }
        var n = await inner.ReadAsync(buffer, cancellationToken);
        // The reader's continuation runs on this thread once this method returns.
        _handlingThread = Environment.CurrentManagedThreadId;
        _handlingStartedAt = GC.GetAllocatedBytesForCurrentThread();
        return n;
    }

    private void EndHandling()
    {
        if (_handlingThread != Environment.CurrentManagedThreadId)
            return; // the handler went asynchronous and came back elsewhere: not a span one counter can measure
        Interlocked.Add(ref _bytes, GC.GetAllocatedBytesForCurrentThread() - _handlingStartedAt);
        Interlocked.Increment(ref _chunks);
        _handlingThread = -1;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the read loop reads asynchronously");

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Flush() => inner.Flush();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}
