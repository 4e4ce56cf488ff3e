using System.Buffers;

namespace UsbRedir.Transport;

/// <summary>
/// A bounded queue of outgoing byte chunks between producers (a session answering transfers) and the
/// single writer that drains it to the socket. When more than <see cref="MaxBytes"/> are queued,
/// <see cref="EnqueueAsync"/> waits (back-pressure reaches the device side instead of memory growing without
/// bound) and <see cref="TryEnqueue"/> refuses (for stream data the usbredir reference drops when the peer is slow).
/// </summary>
public sealed class SendQueue
{
    private readonly object _gate = new();
    // Small messages queued while the writer is busy are appended to the last chunk still waiting, so one socket
    // write carries many of them: each write costs a system call and a wake-up of the peer, which is what limits small
    // transfers over loopback. Chunks are rented with room for this.
    // 256 KiB: a burst of 16 KiB replies to the transfers a guest keeps in flight leaves in one or two writes (the
    // peer reads 256 KiB at a time), where 64 KiB chunks, holding three such replies, took a write per three.
    private const int CoalescingCapacity = 256 * 1024;
    private readonly Queue<Chunk> _chunks = new();
    // Message counts of chunks handed to the writer, in order: Release subtracts them from _messages.
    private readonly Queue<int> _writing = new();
    private int _messages;
    private Chunk? _tail; // the last chunk, while it still waits (appendable)
    // A buffer handed out by Reserve for a new chunk, queued by Commit (kept if a reservation is not committed).
    private byte[]? _reserved;
    private Chunk? _reservedIn; // the tail chunk Reserve handed out space in, or null for _reserved
    private readonly Appender _appender;
    // True from taking a chunk until its Release: one writer at a time owns the stream, either the write loop
    // (DequeueAsync) or a producer writing on its own thread (TryTakeForInlineWrite), so chunks go out in order.
    private bool _writerBusy;
    // Signals for producers waiting for space and for the write loop waiting for data. Armed only by a waiter (under
    // the lock, after it found it must wait) and taken by whoever completes it: a queue nobody waits on, as when every
    // chunk is written inline or the loop is busy writing, allocates none per write.
    private TaskCompletionSource? _space;
    private TaskCompletionSource? _data;
    private Exception? _closed;

    public SendQueue(int maxBytes = 8 * 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        MaxBytes = maxBytes;
        _appender = new Appender(this);
    }

    public int MaxBytes { get; }

    public int QueuedBytes { get; private set; }

    /// <summary>Messages (enqueue calls) queued and not yet written; several may share one chunk.</summary>
    public int QueuedChunks { get { lock (_gate) return _messages; } }

    /// <summary>Copies <paramref name="data"/> into the queue, waiting while the queue is full. An empty queue always accepts one chunk, however large.</summary>
    public async ValueTask EnqueueAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                ThrowIfClosed();
                if (QueuedBytes == 0 || QueuedBytes + data.Length <= MaxBytes)
                {
                    Add(data.Span);
                    return;
                }
                wait = (_space ??= NewSignal()).Task;
            }
            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Queues <paramref name="data"/> even when the queue is full. For callers that must not block (they hold a lock)
    /// and apply back-pressure themselves with <see cref="WaitForSpaceAsync"/> before producing more.
    /// </summary>
    public void Enqueue(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            ThrowIfClosed();
            Add(data);
        }
    }

    /// <summary>
    /// Like <see cref="Enqueue"/>, but does not wake the write loop: the caller promises to call
    /// <see cref="ByteStreamConnection.Flush"/> next (outside its locks), which writes the data on the caller's thread
    /// when the stream is free or wakes the loop otherwise. Saves a thread hand-off per message.
    /// </summary>
    internal void EnqueueWithoutWake(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            ThrowIfClosed();
            Add(data, wake: false);
        }
    }

    /// <summary>
    /// Opens the queue for encoding messages straight into it (<see cref="Protocol.UsbRedirCodec.SendTo{THeader}"/>):
    /// each GetSpan/Advance pair of the returned writer is one message, appended as <see cref="EnqueueWithoutWake"/>
    /// appends, so the caller calls <see cref="ByteStreamConnection.Flush"/> after disposing it. The queue stays
    /// locked until the writer is disposed: keep that short. Null when the queue is closed.
    /// </summary>
    internal Appender? TryOpenAppender()
    {
        Monitor.Enter(_gate);
        if (_closed is null)
            return _appender;
        Monitor.Exit(_gate);
        return null;
    }

    /// <summary>The writer <see cref="TryOpenAppender"/> hands out; one per queue, used only while its lock is held.</summary>
    internal sealed class Appender(SendQueue queue) : IBufferWriter<byte>, IDisposable
    {
        public Span<byte> GetSpan(int sizeHint = 0) => queue.Reserve(Math.Max(sizeHint, 1));

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            var size = Math.Max(sizeHint, 1);
            queue.Reserve(size);
            return queue._reservedIn is { } tail ? tail.Buffer.AsMemory(tail.Length) : queue._reserved.AsMemory();
        }

        public void Advance(int count) => queue.Commit(count);

        public void Dispose() => Monitor.Exit(queue._gate);
    }

    /// <summary>Waits until the queue holds less than <see cref="MaxBytes"/>.</summary>
    public async ValueTask WaitForSpaceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (QueuedBytes < MaxBytes || _closed is not null)
                    return;
                wait = (_space ??= NewSignal()).Task;
            }
            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>True when producers should hold off (the queue is at or over its limit).</summary>
    public bool IsFull { get { lock (_gate) return QueuedBytes >= MaxBytes; } }

    /// <summary>Queues <paramref name="data"/> only if it fits now; false means the peer is not keeping up.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            ThrowIfClosed();
            if (QueuedBytes != 0 && QueuedBytes + data.Length > MaxBytes)
                return false;
            Add(data);
            return true;
        }
    }

    /// <summary>Takes the next chunk (waiting for one); returns default when the queue was closed and drained.
    /// The caller writes it and then calls <see cref="Release"/>.</summary>
    public async ValueTask<(byte[] Buffer, int Length)> DequeueAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (TryTake(out var taken))
                    return taken;
                if (_closed is not null && !_writerBusy)
                    return default;
                wait = (_data ??= NewSignal()).Task;
            }
            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Takes the next chunk for a producer to write on its own thread, if no writer owns the stream and something
    /// waits; the caller writes it and then calls <see cref="Release"/>, as the write loop does.
    /// </summary>
    internal bool TryTakeForInlineWrite(out (byte[] Buffer, int Length) chunk)
    {
        lock (_gate)
            return TryTake(out chunk);
    }

    /// <summary>Wakes the write loop if something waits (a producer that enqueued without waking could not write it).</summary>
    internal void WakeWriter()
    {
        lock (_gate)
            if (!_writerBusy && (_chunks.Count > 0 || _closed is not null))
                Wake();
    }

    private bool TryTake(out (byte[] Buffer, int Length) taken)
    {
        taken = default;
        if (_writerBusy || !_chunks.TryDequeue(out var chunk))
            return false;
        if (ReferenceEquals(chunk, _tail))
            _tail = null;
        _writing.Enqueue(chunk.Messages);
        _writerBusy = true;
        taken = (chunk.Buffer, chunk.Length);
        return true;
    }

    /// <summary>Returns a written chunk's buffer and frees its space for waiting producers.</summary>
    public void Release((byte[] Buffer, int Length) chunk) => Release(chunk, wakeWriter: true);

    /// <param name="wakeWriter">False for a producer that writes inline and will take the next chunk itself or call <see cref="WakeWriter"/>.</param>
    internal void Release((byte[] Buffer, int Length) chunk, bool wakeWriter)
    {
        ArrayPool<byte>.Shared.Return(chunk.Buffer);
        TaskCompletionSource? space;
        lock (_gate)
        {
            QueuedBytes -= chunk.Length;
            if (_writing.TryDequeue(out var messages))
                _messages -= messages;
            _writerBusy = false;
            // Messages queued while this chunk was written did not wake the loop (the stream was busy): wake it now.
            if (wakeWriter && (_chunks.Count > 0 || _closed is not null))
                Wake();
            space = _space;
            _space = null;
        }
        space?.TrySetResult();
    }

    /// <summary>Refuses further chunks; producers waiting for space fail with <paramref name="reason"/>. Queued chunks may still be drained.</summary>
    public void Close(Exception reason)
    {
        TaskCompletionSource? space;
        lock (_gate)
        {
            _closed ??= reason;
            space = _space;
            _space = null;
            Wake();
        }
        space?.TrySetResult();
    }

    private void Add(ReadOnlySpan<byte> data, bool wake = true)
    {
        data.CopyTo(Reserve(data.Length));
        Commit(data.Length);
        if (wake && !_writerBusy) // a busy writer's Release wakes the loop for what came meanwhile
            Wake();
    }

    /// <summary>Room for a message of <paramref name="size"/> bytes: at the end of the waiting tail chunk, or in a new one. Call under the lock.</summary>
    private Span<byte> Reserve(int size)
    {
        if (_tail is { } tail && tail.Buffer.Length - tail.Length >= size)
        {
            _reservedIn = tail;
            return tail.Buffer.AsSpan(tail.Length);
        }
        _reservedIn = null;
        if (_reserved is not null && _reserved.Length < size)
        {
            ArrayPool<byte>.Shared.Return(_reserved);
            _reserved = null;
        }
        _reserved ??= ArrayPool<byte>.Shared.Rent(Math.Max(size, CoalescingCapacity));
        return _reserved;
    }

    /// <summary>Queues the <paramref name="size"/> bytes written into the last <see cref="Reserve"/> as one message. Call under the lock.</summary>
    private void Commit(int size)
    {
        if (_reservedIn is { } tail)
        {
            tail.Length += size;
            tail.Messages++;
        }
        else
        {
            _tail = new Chunk(_reserved!) { Length = size, Messages = 1 };
            _chunks.Enqueue(_tail);
            _reserved = null;
        }
        _reservedIn = null;
        QueuedBytes += size;
        _messages++;
    }

    /// <summary>Completes the signal the write loop waits on, if it waits. Call under the lock.</summary>
    private void Wake()
    {
        var signal = _data;
        _data = null;
        signal?.TrySetResult();
    }

    private void ThrowIfClosed()
    {
        if (_closed is not null)
            throw new UsbRedirException("ConnectionClosed", UsbRedirErrorCategory.ConnectionError,
                $"The connection is closed: {_closed.Message}", null, null, _closed);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Bytes waiting to be written, possibly several messages.</summary>
    private sealed class Chunk(byte[] buffer)
    {
        public byte[] Buffer { get; } = buffer;
        public int Length { get; set; }
        public int Messages { get; set; }
    }
}
