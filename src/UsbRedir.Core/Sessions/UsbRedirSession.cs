using UsbRedir.Protocol;
using UsbRedir.Transport;

namespace UsbRedir.Sessions;

/// <summary>
/// What both usbredir roles share: a codec guarded by one lock, a connection whose read loop feeds it, and
/// the rule that every packet the codec encodes goes straight to the connection's send queue.
/// <para>Threading: <see cref="OnPacket"/> runs on the read loop, one packet at a time, and must finish with the
/// event before returning (its payload is reused). Sends may come from any thread; they take the lock.</para>
/// </summary>
public abstract class UsbRedirSession : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource<Exception?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _packetsIn;
    private long _packetsOut;
    private int _started;
    private int _ended;

    protected UsbRedirSession(UsbRedirRole role, UsbRedirCapabilities capabilities, ByteStreamConnection connection, SessionLog log)
    {
        Codec = new UsbRedirCodec(role, capabilities, $"UsbRedir {typeof(UsbRedirSession).Assembly.GetName().Version?.ToString(3)}");
        Connection = connection;
        Log = log;
    }

    /// <summary>The protocol state. Touch it only inside <see cref="WithCodec"/> (or on the read loop for reading received events).</summary>
    protected UsbRedirCodec Codec { get; }

    public ByteStreamConnection Connection { get; }

    public SessionLog Log { get; }

    /// <summary>Data packets received / sent (transfers and their replies).</summary>
    public long PacketsReceived => Interlocked.Read(ref _packetsIn);

    public long PacketsSent => Interlocked.Read(ref _packetsOut);

    /// <summary>The peer's hello version text once known.</summary>
    public string? PeerVersion { get { lock (_gate) return Codec.PeerVersion; } }

    public UsbRedirCapabilities? PeerCapabilities { get { lock (_gate) return Codec.PeerCapabilities; } }

    /// <summary>
    /// True (the default) to close the connection on the first protocol error, as usbredirect does; false to log,
    /// skip the bad packet and carry on, as QEMU does.
    /// </summary>
    public bool CloseOnProtocolError { get; init; } = true;

    /// <summary>Completes when the session has ended: null after an orderly close, else why it ended.</summary>
    public Task<Exception?> Completion => _completion.Task;

    /// <summary>Starts the read and write loops and sends our hello.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
            throw new InvalidOperationException("The session was already started.");
        WithCodec(_ => { }); // flush the hello the codec queued on construction
        Connection.Start(OnReceivedAsync, OnReadLoopIdle);
        _ = Connection.Completion.ContinueWith(t => End(t.Result), TaskScheduler.Default);
        OnStarted();
    }

    /// <summary>Runs <paramref name="write"/> under the codec lock and moves what it encoded to the send queue.</summary>
    protected void WithCodec(Action<UsbRedirCodec> write)
    {
        lock (_gate)
        {
            write(Codec);
            MovePendingOutput();
        }
        FlushUnlessBatching();
    }

    /// <summary>Writes what was queued, unless a <see cref="SendBatch"/> of this session is open on this thread (its end writes).</summary>
    private void FlushUnlessBatching()
    {
        if (!SendBatch.IsOpenFor(this))
            Connection.Flush();
    }

    /// <summary>
    /// Moves what the codec encoded to the send queue without waking the write loop; the caller calls
    /// <see cref="ByteStreamConnection.Flush"/> once out of the lock, so the bytes usually leave on its own thread.
    /// Call under the codec lock.
    /// </summary>
    private void MovePendingOutput()
    {
        var pending = Codec.PendingOutput;
        if (pending.Length == 0)
            return;
        try
        {
            Connection.Outgoing.EnqueueWithoutWake(pending.Span);
        }
        catch (UsbRedirException)
        {
            // The connection is closing: what we wanted to say can no longer be delivered.
        }
        Codec.AdvanceOutput(pending.Length);
    }

    /// <summary>Sends a packet; a rule violation is our bug, logged and reported, never thrown into a device callback.</summary>
    protected bool TrySend<THeader>(ulong id, in THeader header, ReadOnlySpan<byte> payload = default) where THeader : IUsbRedirHeader
    {
        try
        {
            lock (_gate)
            {
                // Straight into the send queue: a transfer's data is copied once on its way to the socket, not twice.
                var queue = Connection.Outgoing.TryOpenAppender();
                if (queue is null)
                {
                    Codec.Send(id, header, payload); // closing: still checked, then dropped as every late packet is
                    MovePendingOutput();
                }
                else
                {
                    using (queue)
                        if (!Codec.SendTo(queue, id, header, payload))
                            MovePendingOutput();
                }
            }
            if (header.PacketType >= UsbRedirPacketType.ControlPacket)
                Interlocked.Increment(ref _packetsOut); // before the bytes leave, so a peer's answer never finds the count behind
            FlushUnlessBatching();
            return true;
        }
        catch (UsbRedirProtocolException e)
        {
            Log.Error($"not sending {header.PacketType}: {e.Message}");
            return false;
        }
    }

    /// <summary>Waits while the peer is not reading (bounded send queue full), so a slow peer slows the device side instead of growing memory.</summary>
    protected ValueTask WaitForSendSpaceAsync(CancellationToken cancellationToken) => Connection.Outgoing.WaitForSpaceAsync(cancellationToken);

    private async ValueTask OnReceivedAsync(ReadOnlyMemory<byte> chunk)
    {
        UsbRedirEventBatch batch;
        // Zero-copy: payloads are slices of the connection's read buffer, which it refills only after this returns
        // (ByteStreamConnection.Start); handlers copy what they keep. Saves a copy of every received byte.
        lock (_gate)
            batch = Codec.ReceiveInPlace(chunk);
        // Events stay valid until the next Receive, which only this loop calls.
        foreach (var ev in batch)
        {
            if (ev.Kind == UsbRedirEventKind.Error)
            {
                OnProtocolError(ev.Error!);
                continue;
            }
            if (ev.PacketType >= UsbRedirPacketType.ControlPacket)
                Interlocked.Increment(ref _packetsIn);
            if (ev.PacketType == UsbRedirPacketType.Hello)
                Log.Info($"peer hello: \"{ev.Hello.Version}\", capabilities {ev.Hello.Capabilities}");
            ValueTask handled;
            using (SendBatch.WhileHandling(this)) // only while the handler runs synchronously on this thread
                handled = OnPacket(ev);
            if (!handled.IsCompletedSuccessfully)
            {
                OnChunkHandled();
                Connection.Flush(); // the handler waits (for send space): what it and earlier ones said goes now
                await handled;
            }
        }
        OnChunkHandled();
        Connection.Flush();
    }

    /// <summary>
    /// Called on the read loop once the packets of a received chunk have been handled (or before it waits for a handler
    /// that went asynchronous), so work they produced can be handed on in one piece.
    /// </summary>
    protected virtual void OnChunkHandled() { }

    /// <summary>
    /// Called on the thread that handled the last chunk when the stream had nothing more to read, after the next read was
    /// registered (see <see cref="ReadPump"/>): the next chunk may be handled on another thread meanwhile, so work done
    /// here never holds up reading. Part of the batching machinery (<see cref="SendBatch"/>).
    /// </summary>
    protected virtual void OnReadLoopIdle() { }

    private void OnProtocolError(UsbRedirProtocolError error)
    {
        if (error.Violation == UsbRedirViolation.DuplicateHello || !CloseOnProtocolError)
        {
            Log.Warning($"ignored a bad packet from the peer: {error.Message}");
            return;
        }
        Log.Error($"protocol error from the peer, closing: {error.Message}");
        Close(new UsbRedirException("ProtocolViolation", UsbRedirErrorCategory.ProtocolError,
            $"The peer {Connection.Peer} broke the usbredir protocol: {error.Message}",
            "Check that the peer speaks usbredir (QEMU usb-redir, usbredirect, UsbRedir) on this port."));
    }

    /// <summary>Called once the loops run and our hello is queued.</summary>
    protected virtual void OnStarted() { }

    /// <summary>Handles one valid packet on the read loop.</summary>
    protected abstract ValueTask OnPacket(UsbRedirEvent packet);

    /// <summary>Called once when the session ends, before <see cref="Completion"/> completes: fail everything pending.</summary>
    protected abstract void OnEnded(Exception? reason);

    /// <summary>Ends the session; queued bytes are still sent when <paramref name="reason"/> is null.</summary>
    public void Close(Exception? reason = null)
    {
        Connection.Close(reason);
        if (reason is not null)
            End(reason);
    }

    private void End(Exception? reason)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
            return;
        try
        {
            OnEnded(reason);
        }
        catch (Exception e)
        {
            Log.Error($"while ending the session: {e.Message}");
        }
        if (reason is not null && reason is not UsbRedirException)
            Log.Error($"connection to {Connection.Peer} lost: {reason.Message}");
        else if (reason is UsbRedirException { ErrorId: var id } && id.StartsWith("Tls", StringComparison.Ordinal))
            Log.Error(reason.Message); // the transport's verdict (TLS to a plaintext port, no hello after the handshake): nobody else logs it
        _completion.TrySetResult(reason);
    }

    public virtual async ValueTask DisposeAsync()
    {
        Close();
        await Connection.DisposeAsync();
        End(null);
    }
}
