using System.Buffers;
using System.Net.Sockets;
using System.Threading.Channels;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Sessions;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// The USB/IP server for one device on one stream socket: reads CMD_SUBMIT / CMD_UNLINK from the client (vhci_hcd at
/// the other end of a socketpair, or anything else speaking the URB phase), runs the URBs concurrently through the
/// device's <see cref="UrbRouter"/>, and writes RET_SUBMIT / RET_UNLINK.
/// </summary>
/// <remarks>
/// The unlink rule (vhci_hcd drops the connection on a RET_SUBMIT for a seqnum it no longer knows): a CMD_UNLINK
/// for a URB still running is answered at once with -ECONNRESET and that URB's later result is discarded; one for a
/// URB already answered gets status 0, and its RET_SUBMIT is guaranteed to be on the wire first. Both decisions and
/// the queueing of the reply happen under one lock, and one writer drains the queue in order.
/// Answering at once also keeps usb_kill_urb() from waiting on a slow device: vhci_hcd gives the URB back on RET_UNLINK.
/// Nothing here throws into a caller's thread: every failure ends the link with a reason in <see cref="Completion"/>.
/// </remarks>
public sealed class UsbipDeviceLink : IAsyncDisposable
{
    private readonly UrbRouter _router;
    private readonly NetworkStream _stream;
    private readonly SessionLog _log;
    private readonly UsbipUrbTranslator _translator;
    private readonly UsbipCommandDecoder _decoder;
    private readonly Channel<UsbipOutgoingPdu> _outgoing = Channel.CreateUnbounded<UsbipOutgoingPdu>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<uint, CancellationTokenSource> _inFlight = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<string> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _lock = new();
    private Task _receiver = Task.CompletedTask;
    private Task _sender = Task.CompletedTask;
    private bool _closed;
    private long _submitted;

    /// <param name="router">The router of the device to serve.</param>
    /// <param name="socket">A connected stream socket; the link owns it and closes it when it ends.</param>
    /// <param name="log">Where to report what happens (optional).</param>
    public UsbipDeviceLink(UrbRouter router, Socket socket, SessionLog? log = null)
    {
        _router = router;
        _stream = new NetworkStream(socket, ownsSocket: true);
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
        _receiver = Task.Run(() => GuardAsync("receive", ReceiveLoopAsync));
        _sender = Task.Run(() => GuardAsync("send", SendLoopAsync));
    }

    /// <summary>Ends the link: running URBs are cancelled and the socket closed (vhci_hcd then disconnects the port).</summary>
    public async ValueTask DisposeAsync()
    {
        Close("unplugged");
        await Task.WhenAll(_receiver, _sender).ConfigureAwait(false);
    }

    // Runs a loop so that nothing escapes onto a pool thread: every way it can end closes the link with a reason.
    private async Task GuardAsync(string what, Func<Task> loop)
    {
        try
        {
            await loop().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Close($"connection error: {ex.Message}");
        }
        catch (Exception ex)
        {
            _log.Write(SessionLogLevel.Error, $"usbip: {what} loop failed: {ex}");
            Close($"internal error: {ex.Message}");
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[256 * 1024];
        while (true)
        {
            var n = await _stream.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
            if (n == 0)
            {
                Close("the USB/IP client closed the connection");
                return;
            }
            foreach (var e in _decoder.Receive(buffer.AsSpan(0, n)))
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
                        return;
                }
            }
        }
    }

    private async Task SendLoopAsync()
    {
        await foreach (var pdu in _outgoing.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            await _stream.WriteAsync(pdu.Bytes, _stop.Token).ConfigureAwait(false);
            pdu.Release();
        }
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
            // Gone from the table: it was unlinked (RET_UNLINK -ECONNRESET already queued) or the link closed.
            queued = _inFlight.Remove(urb.Seqnum) && _outgoing.Writer.TryWrite(reply);
        }
        if (!queued) reply.Release();
    }

    private void Unlink(UsbipUnlinkCommand unlink)
    {
        CancellationTokenSource? running;
        lock (_lock)
        {
            if (_closed) return;
            var found = _inFlight.Remove(unlink.UnlinkSeqnum, out running);
            _outgoing.Writer.TryWrite(UsbipOutgoingPdu.Of(UsbipReplyEncoder.EncodeRetUnlink(unlink.Seqnum, found ? UrbStatusCodes.ToLinuxErrno(UrbStatus.Cancelled) : 0)));
        }
        running?.Cancel();
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
            _outgoing.Writer.TryComplete();
        }
        _log.Write(SessionLogLevel.Info, $"usbip: link closed: {reason}");
        // Cancel the loops and close the socket off this thread: Close may run inside a device callback.
        _ = Task.Run(() =>
        {
            foreach (var c in running) c.Cancel();
            _stop.Cancel();
            _stream.Dispose();
            _completion.TrySetResult(reason);
        });
    }
}
