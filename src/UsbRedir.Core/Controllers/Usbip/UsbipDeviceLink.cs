using System.Buffers;
using System.Net.Sockets;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Sessions;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// The USB/IP server for one device on one stream socket: reads CMD_SUBMIT / CMD_UNLINK from the client (vhci_hcd at
/// the other end of a socketpair, or anything else speaking the URB phase), runs the URBs concurrently through the
/// device's <see cref="UrbRouter"/>, and writes RET_SUBMIT / RET_UNLINK.
/// </summary>
/// <remarks>
/// <para>The unlink rule (vhci_hcd drops the connection on a RET_SUBMIT for a seqnum it no longer knows): a CMD_UNLINK
/// for a URB still running is answered at once with -ECONNRESET and that URB's later result is discarded; one for a
/// URB already answered gets status 0, and its RET_SUBMIT is guaranteed to be on the wire first. Both decisions and
/// the queueing of the reply happen under one lock, and replies leave the queue in order, one writer at a time.
/// Answering at once also keeps usb_kill_urb() from waiting on a slow device: vhci_hcd gives the URB back on RET_UNLINK.</para>
/// <para>Every URB is a round trip through this process, so hand-offs between threads are kept out of the path: one
/// thread reads the socket with blocking reads, and a reply is written by the thread that completed it (unless another
/// one is writing already, which then takes it along).</para>
/// <para>So the receiving thread writes replies too (RET_UNLINK always), and a client that stops reading replies stops
/// this link reading commands: back-pressure, not a deadlock, because vhci_hcd reads replies on its own kernel thread
/// (vhci_rx) while vhci_tx sends. A client sending a long burst before it reads anything deadlocks with it.</para>
/// <para>Nothing here throws into a caller's thread: every failure ends the link with a reason in <see cref="Completion"/>.</para>
/// </remarks>
public sealed class UsbipDeviceLink : IAsyncDisposable
{
    private readonly UrbRouter _router;
    private readonly Socket _socket;
    private readonly SessionLog _log;
    private readonly UsbipUrbTranslator _translator;
    private readonly UsbipCommandDecoder _decoder;
    private readonly Queue<UsbipOutgoingPdu> _outgoing = new();
    private readonly Dictionary<uint, CancellationTokenSource> _inFlight = [];
    private readonly TaskCompletionSource<string> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _receiverDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _lock = new();
    private bool _writing;
    private bool _closed;
    private long _submitted;
    private int _started;

    /// <param name="router">The router of the device to serve.</param>
    /// <param name="socket">A connected, blocking stream socket; the link owns it and closes it when it ends.</param>
    /// <param name="log">Where to report what happens (optional).</param>
    public UsbipDeviceLink(UrbRouter router, Socket socket, SessionLog? log = null)
    {
        _router = router;
        _socket = socket;
        _log = log ?? new SessionLog();
        _translator = new UsbipUrbTranslator(router.Device);
        _decoder = new UsbipCommandDecoder(_translator.IsIsochronous);
    }

    /// <summary>Completes with the reason the link ended (peer closed, malformed PDU, unplugged); never faults.</summary>
    public Task<string> Completion => _completion.Task;

    /// <summary>URBs submitted and not yet answered or unlinked.</summary>
    public int InFlight { get { lock (_lock) return _inFlight.Count; } }

    /// <summary>CMD_SUBMITs received so far.</summary>
    public long Submitted => Interlocked.Read(ref _submitted);

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) return;
        _socket.Blocking = true;
        new Thread(ReceiveLoop) { IsBackground = true, Name = "usbip link receiver" }.Start();
    }

    /// <summary>Ends the link: running URBs are cancelled and the socket closed (vhci_hcd then disconnects the port).</summary>
    public async ValueTask DisposeAsync()
    {
        Close("unplugged");
        await Completion.ConfigureAwait(false);
        if (Volatile.Read(ref _started) != 0)
            await _receiverDone.Task.ConfigureAwait(false);
    }

    // The receiving thread: nothing escapes it; every way it ends closes the link with a reason.
    private void ReceiveLoop()
    {
        try
        {
            var buffer = new byte[256 * 1024];
            while (true)
            {
                var n = _socket.Receive(buffer);
                if (n == 0)
                {
                    Close("the USB/IP client closed the connection");
                    return;
                }
                if (!Dispatch(buffer.AsSpan(0, n)))
                    return;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Close($"connection error: {ex.Message}");
        }
        catch (Exception ex)
        {
            _log.Write(SessionLogLevel.Error, $"usbip: receive loop failed: {ex}");
            Close($"internal error: {ex.Message}");
        }
        finally
        {
            _receiverDone.TrySetResult();
        }
    }

    private bool Dispatch(ReadOnlySpan<byte> data)
    {
        foreach (var e in _decoder.Receive(data))
        {
            switch (e)
            {
                case UsbipSubmitCommand submit:
                    Submit(submit);
                    break;
                case UsbipUnlinkCommand unlink:
                    Unlink(unlink);
                    break;
                case UsbipMalformedStream bad:
                    _log.Write(SessionLogLevel.Error, $"usbip: malformed PDU at byte {bad.StreamOffset}: {bad.Message}");
                    Close($"protocol error: {bad.Message}");
                    return false;
            }
        }
        return true;
    }

    private void Submit(UsbipSubmitCommand urb)
    {
        Interlocked.Increment(ref _submitted);
        // Plain (unlinked) sources: cancelled explicitly by Unlink or Close, never disposed, so a late Cancel is always safe.
        var cancel = new CancellationTokenSource();
        bool added;
        lock (_lock)
        {
            if (_closed) return;
            added = _inFlight.TryAdd(urb.Seqnum, cancel);
        }
        if (!added)
        {
            _log.Write(SessionLogLevel.Error, $"usbip: CMD_SUBMIT reuses seqnum {urb.Seqnum} of a URB still running");
            Close($"protocol error: seqnum {urb.Seqnum} submitted twice");
            return;
        }
        _ = RunAsync(urb, cancel);
    }

    private async Task RunAsync(UsbipSubmitCommand urb, CancellationTokenSource cancel)
    {
        var request = _translator.ToUrb(urb, out var rented);
        UsbipOutgoingPdu reply;
        try
        {
            // The router never throws; a reply that cannot be built (a result breaking the length rules) is a failure.
            var result = await _router.SubmitAsync(request, cancel.Token).ConfigureAwait(false);
            reply = _translator.ToReply(urb, request, result, ref rented);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _log.Write(SessionLogLevel.Error, $"usbip: URB {urb.Seqnum} on endpoint 0x{urb.EndpointAddress:x2} failed: {ex.Message}");
            reply = UsbipOutgoingPdu.Of(UsbipUrbTranslator.Failure(urb));
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
        bool queued;
        lock (_lock)
        {
            // Gone from the table: it was unlinked (RET_UNLINK -ECONNRESET already queued) or the link closed. Another
            // URB under its seqnum (the client used it again after the unlink) is not this one: its answer is its own.
            queued = _inFlight.TryGetValue(urb.Seqnum, out var current) && ReferenceEquals(current, cancel)
                     && _inFlight.Remove(urb.Seqnum) && Enqueue(reply);
        }
        if (queued) Flush();
        else reply.Release();
    }

    private void Unlink(UsbipUnlinkCommand unlink)
    {
        CancellationTokenSource? running;
        lock (_lock)
        {
            if (_closed) return;
            var found = _inFlight.Remove(unlink.UnlinkSeqnum, out running);
            Enqueue(UsbipOutgoingPdu.Of(UsbipReplyEncoder.EncodeRetUnlink(unlink.Seqnum, found ? UrbStatusCodes.ToLinuxErrno(UrbStatus.Cancelled) : 0)));
        }
        Flush();
        running?.Cancel();
    }

    // Under _lock: the position in the queue is the position on the wire.
    private bool Enqueue(UsbipOutgoingPdu pdu)
    {
        if (_closed) return false;
        _outgoing.Enqueue(pdu);
        return true;
    }

    // Writes queued replies in order. One writer at a time: a thread finding another one at work leaves its reply to it.
    private void Flush()
    {
        while (true)
        {
            UsbipOutgoingPdu next;
            lock (_lock)
            {
                if (_writing || _closed || !_outgoing.TryDequeue(out next)) return;
                _writing = true;
            }
            try
            {
                for (var sent = 0; sent < next.Length;)
                    sent += _socket.Send(next.Buffer.AsSpan(sent, next.Length - sent));
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                Close($"connection error: {ex.Message}");
            }
            finally
            {
                next.Release();
                lock (_lock) _writing = false;
            }
        }
    }

    private void Close(string reason)
    {
        List<CancellationTokenSource> running;
        lock (_lock)
        {
            if (_closed) return;
            _closed = true;
            running = [.. _inFlight.Values];
            _inFlight.Clear();
            _outgoing.Clear();
        }
        _log.Write(SessionLogLevel.Info, $"usbip: link closed: {reason}");
        // Cancel and close off this thread: Close may run inside a device callback or on the receiving thread.
        _ = Task.Run(() =>
        {
            foreach (var c in running) c.Cancel();
            try
            {
                // Wakes the receiving thread (its Receive returns 0) before the handle goes.
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            _socket.Dispose();
            _completion.TrySetResult(reason);
        });
    }
}
