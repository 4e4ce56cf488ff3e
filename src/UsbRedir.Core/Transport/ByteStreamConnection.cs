using System.Net;
using System.Net.Sockets;
using System.Reflection;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Transport;

/// <summary>
/// Moves bytes between a connected stream (a TCP socket, a unix socket, a virtio-serial port) and a
/// sans-IO protocol engine: a read loop hands every received chunk to a callback, a write loop drains a
/// bounded <see cref="SendQueue"/>. Either loop ending (peer closed, I/O error, <see cref="Close"/>) ends both,
/// and <see cref="Completion"/> says why.
/// </summary>
public sealed class ByteStreamConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<Exception?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytesSent;
    private long _bytesReceived;
    private int _started;

    public ByteStreamConnection(Stream stream, string peer, int maxQueuedBytes = 8 * 1024 * 1024)
    {
        _stream = stream;
        Peer = peer;
        Outgoing = new SendQueue(maxQueuedBytes);
    }

    public static ByteStreamConnection FromSocket(Socket socket, int maxQueuedBytes = 8 * 1024 * 1024) =>
        new(new NetworkStream(socket, ownsSocket: true), socket.RemoteEndPoint?.ToString() ?? "?", maxQueuedBytes)
        {
            Security = ConnectionSecurity.Plaintext(socket.RemoteEndPoint as IPEndPoint, TlsMode.Plaintext),
        };

    /// <summary>
    /// How the link is protected (plaintext or TLS, the peer's certificate identity) and where the peer is. Plaintext
    /// with no known address unless the creator says otherwise (<see cref="SecureTransport"/> and <see cref="FromSocket"/> do).
    /// </summary>
    public ConnectionSecurity Security { get; init; } = ConnectionSecurity.Plaintext(null, TlsMode.Plaintext);

    /// <summary>Who is on the other end, for display and logs.</summary>
    public string Peer { get; }

    public SendQueue Outgoing { get; }

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Completes when the connection has ended: null for an orderly close, else the reason.</summary>
    public Task<Exception?> Completion => _completion.Task;

    /// <summary>
    /// Starts both loops. <paramref name="onReceived"/> runs on the read loop, one chunk at a time, and must not
    /// keep the memory after it returns; if it throws, the connection closes with that exception.
    /// </summary>
    /// <param name="whileWaiting">
    /// Runs on the thread that handled the last chunk when the next read found nothing there yet, after that read was
    /// registered: the next chunk may be handled on another thread meanwhile, so it may do work the chunks produced
    /// without holding up reading (see <see cref="ReadPump"/>). If it throws, the connection closes.
    /// </param>
    public void Start(Func<ReadOnlyMemory<byte>, ValueTask> onReceived, Action? whileWaiting = null)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
            throw new InvalidOperationException("The connection was already started.");
        new ReadPump(_stream, Security.IsTls ? onReceived : RefusingTls(onReceived), whileWaiting, n => Interlocked.Add(ref _bytesReceived, n), Finish, _stop.Token).Start();
        _ = Task.Run(WriteLoopAsync);
    }

    /// <summary>
    /// A plaintext link whose peer opens with a TLS handshake record (0x16 0x03: a ClientHello) ends with an error saying
    /// so (TlsToPlaintextPort) instead of a protocol error about a garbled usbredir header. Only the first chunk is looked at.
    /// </summary>
    private Func<ReadOnlyMemory<byte>, ValueTask> RefusingTls(Func<ReadOnlyMemory<byte>, ValueTask> onReceived)
    {
        var first = true;
        return chunk =>
        {
            if (first)
            {
                first = false;
                if (chunk.Length >= 2 && chunk.Span[0] == 0x16 && chunk.Span[1] == 0x03)
                    throw new UsbRedirException("TlsToPlaintextPort", UsbRedirErrorCategory.ProtocolError,
                        $"The peer {Peer} speaks TLS, but this end speaks plaintext usbredir only.",
                        "Give this end TLS (usbredir server --tls-dir DIR; Start-UsbRedirServer -TlsDirectory DIR; connect --tls-dir / -TlsDirectory), or connect to it without TLS.", Peer);
            }
            return onReceived(chunk);
        };
    }

    // Socket.PreferInlineCompletions (internal, Unix): when set, the socket engine's epoll thread runs the socket's
    // completions itself instead of queueing them to the thread pool. Null on a runtime without it.
    private static readonly PropertyInfo? InlineCompletions =
        OperatingSystem.IsWindows() ? null : typeof(Socket).GetProperty("PreferInlineCompletions", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>
    /// Lets the read loop and the completions of writes run on the socket engine's own thread (the one that learns the
    /// socket is ready) instead of a thread-pool thread it would wake for each: one thread wake-up less per received
    /// chunk and per write the socket buffer held back. For a side whose chunk handlers never block (the usbredir host
    /// role: a handler submits transfers and answers). Only a plaintext socket stream (a TLS stream hides its socket)
    /// on Unix; elsewhere, or on a runtime without the switch, nothing changes. Call before <see cref="Start"/>.
    /// </summary>
    public void PreferInlineCompletions()
    {
        if (InlineCompletions is null || _stream is not NetworkStream { Socket: var socket })
            return;
        try
        {
            InlineCompletions.SetValue(socket, true);
        }
        catch (Exception e) when (e is TargetInvocationException or ArgumentException or MethodAccessException)
        {
            // A runtime that changed the switch: completions go through the thread pool, as without it.
        }
    }

    /// <summary>Ends the connection; queued bytes are still written first when <paramref name="reason"/> is null.</summary>
    public void Close(Exception? reason = null)
    {
        Outgoing.Close(reason ?? new IOException("closed locally"));
        if (reason is not null)
            Finish(reason);
    }

    /// <summary>Chunks a producer writes on its own thread before leaving the rest to the write loop, so no caller (the read loop least of all) is held writing for long.</summary>
    private const int InlineWritesPerFlush = 4;

    /// <summary>
    /// Writes what <see cref="SendQueue.EnqueueWithoutWake"/> queued. When no write is in progress the caller's thread
    /// writes it (a socket write that fits the socket buffer completes at once, sparing the wake-up of the write loop,
    /// a thread hand-off per message); otherwise, or once a write would wait, the write loop carries on. Never blocks
    /// and never throws: a failed write ends the connection, as in the write loop.
    /// </summary>
    public void Flush()
    {
        if (Volatile.Read(ref _started) == 0)
            return; // the write loop drains the queue when it starts
        var written = 0;
        for (; written < InlineWritesPerFlush; written++)
        {
            if (!Outgoing.TryTakeForInlineWrite(out var chunk))
                break; // nothing left, or a writer owns the stream (its Release wakes the loop for the rest)
            ValueTask write;
            try
            {
                write = _stream.WriteAsync(chunk.Buffer.AsMemory(0, chunk.Length), _stop.Token);
            }
            catch (Exception e)
            {
                Outgoing.Release(chunk);
                Finish(e);
                return;
            }
            if (!write.IsCompleted)
            {
                _ = CompleteWriteAsync(write, chunk); // the socket buffer is full: finish off this thread
                return;
            }
            try
            {
                write.GetAwaiter().GetResult();
                Interlocked.Add(ref _bytesSent, chunk.Length);
            }
            catch (Exception e)
            {
                Outgoing.Release(chunk);
                Finish(e);
                return;
            }
            Outgoing.Release(chunk, wakeWriter: false);
        }
        // What came while we wrote, and a close waiting for the stream to be free, are the write loop's now.
        if (written > 0)
            Outgoing.WakeWriter();
    }

    private async Task CompleteWriteAsync(ValueTask write, (byte[] Buffer, int Length) chunk)
    {
        try
        {
            await write;
            Interlocked.Add(ref _bytesSent, chunk.Length);
        }
        catch (Exception e)
        {
            Finish(e);
        }
        finally
        {
            Outgoing.Release(chunk);
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                var chunk = await Outgoing.DequeueAsync(_stop.Token);
                if (chunk.Buffer is null)
                {
                    Finish(null); // closed locally and drained
                    return;
                }
                try
                {
                    await _stream.WriteAsync(chunk.Buffer.AsMemory(0, chunk.Length), _stop.Token);
                    Interlocked.Add(ref _bytesSent, chunk.Length);
                }
                finally
                {
                    Outgoing.Release(chunk);
                }
            }
        }
        catch (Exception e)
        {
            Finish(e);
        }
    }

    private void Finish(Exception? reason)
    {
        if (reason is OperationCanceledException && _stop.IsCancellationRequested)
            reason = null;
        if (!_completion.TrySetResult(reason))
            return;
        Outgoing.Close(reason ?? new IOException("the connection was closed"));
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // DisposeAsync saw the completion set just above and disposed the source: nothing is left to stop.
        }
        try { _stream.Dispose(); } catch (IOException) { } catch (SocketException) { }
    }

    /// <summary>Closes, giving queued bytes a moment to drain before the stream is torn down.</summary>
    public async ValueTask DisposeAsync()
    {
        Close(null);
        if (_started != 0)
            await Task.WhenAny(Completion, Task.Delay(TimeSpan.FromSeconds(2)));
        Finish(null);
        _stop.Dispose();
    }
}
