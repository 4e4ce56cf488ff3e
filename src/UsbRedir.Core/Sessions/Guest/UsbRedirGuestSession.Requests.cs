using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// Requests and their answers: every packet we send that the host answers (data packets, configuration and alt-setting
// requests, start of interrupt receiving) is registered under a fresh id and completes exactly once — with the peer's
// answer, or locally with IoError (device or connection gone), Cancelled (caller cancelled; data packets first ask the
// peer with cancel_data_packet) or Timeout (the peer never answered). A late answer to an id we gave up on is dropped.
public sealed partial class UsbRedirGuestSession
{
    /// <summary>How many given-up ids are remembered so their late answers are dropped quietly rather than reported.</summary>
    private const int AbandonedIdsKept = 4096;

    private readonly Dictionary<ulong, IPendingRequest> _requests = new();
    private readonly HashSet<ulong> _abandoned = new();
    private readonly SemaphoreSlim _sendTurn = new(1, 1);
    // Every completion goes through it, so no caller's continuation runs on the read loop, a timer or a canceller.
    private readonly CompletionDispatcher<RequestReply> _completions;
    private long _nextId;
    private bool _ids64;
    private bool _requestsClosed;
    private int _unknownAnswers;
    // Chunks handled since the answers were last handed on. Only a heuristic: the idle thread may reset it while the
    // next chunk's handling counts, and either outcome is fine.
    private int _chunksSinceDelivery;
    private const int ChunksBeforeHandOff = 4;

    /// <summary>The answer to a request. <paramref name="Answered"/> is false when it completed locally.</summary>
    internal readonly record struct RequestReply(UsbStatus Status, int Length, byte Value, bool Answered);

    /// <summary>The answer as it is, for callers that need more than a transfer result (a configuration value).</summary>
    private static readonly Func<RequestReply, RequestReply> AsReply = static reply => reply;

    /// <summary>A request waiting for the peer, whatever its caller awaits.</summary>
    private interface IPendingRequest : IDispatchedCompletion<RequestReply>
    {
        ulong Id { get; }
        RemoteUsbDevice Device { get; }
        RequestDescription Description { get; }
        UsbRedirGuestSession Session { get; }
        /// <summary>Completes when the request does.</summary>
        Task Completed { get; }
    }

    // It is its own TaskCompletionSource (one object less per request), completed only through _completions, which
    // runs the caller's continuation synchronously on a drainer thread. It completes with what the caller awaits
    // (TResult, converted by a static toResult): a transfer's caller gets its UsbTransferResult from here, with no
    // async method and no second task around the request.
    private sealed class PendingRequest<TResult>(UsbRedirGuestSession session, ulong id, RemoteUsbDevice device, in RequestDescription description,
        Func<RequestReply, TResult> toResult) : TaskCompletionSource<TResult>, IPendingRequest
    {
        public ulong Id { get; } = id;
        public RemoteUsbDevice Device { get; } = device;
        public RequestDescription Description { get; } = description;
        public UsbRedirGuestSession Session { get; } = session;
        public Task Completed => Task;
        public Func<RequestReply, TResult> ToResult { get; } = toResult;

        public void Complete(RequestReply reply) => TrySetResult(ToResult(reply));
    }

    /// <summary>Requests still waiting for the peer.</summary>
    public int PendingRequestCount { get { lock (_requests) return _requests.Count; } }

    private void UseIds(bool ids64)
    {
        lock (_requests)
            _ids64 = ids64;
    }

    /// <summary>
    /// Sends a request and waits for its answer.
    /// </summary>
    /// <param name="send">Encodes the request under the given id; false when the codec refused it (our bug, already logged).</param>
    /// <param name="request">What answers it, where its data goes, whether it can be cancelled, how long to wait.</param>
    internal Task<RequestReply> RequestAsync(RemoteUsbDevice device, Func<ulong, bool> send, in RequestDescription request, CancellationToken cancellationToken) =>
        RequestAsync(device, static (id, send) => send(id), send, AsReply, request, cancellationToken);

    /// <summary>
    /// <see cref="RequestAsync(RemoteUsbDevice, Func{ulong, bool}, in RequestDescription, CancellationToken)"/>
    /// with the request's fields passed as <paramref name="state"/> to a static <paramref name="send"/>: no closure and no
    /// delegate allocated per request; the answer reaches the caller as <paramref name="toResult"/> makes it (a static
    /// lambda), so the caller needs no async method of its own to convert it. When the send turn is free and the queue has room (the usual case) the request is
    /// sent on this thread and, with nothing to watch (no cancellable token, no timeout, as for bulk), the caller awaits
    /// the request itself: no state machine is allocated either.
    /// </summary>
    internal Task<TResult> RequestAsync<TState, TResult>(RemoteUsbDevice device, Func<ulong, TState, bool> send, TState state,
        Func<RequestReply, TResult> toResult, in RequestDescription request, CancellationToken cancellationToken)
    {
        if (device.Gone.IsCancellationRequested)
            return Task.FromResult(toResult(new RequestReply(UsbStatus.IoError, 0, 0, false)));
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(toResult(new RequestReply(UsbStatus.Cancelled, 0, 0, false)));
        if (!_sendTurn.Wait(0))
            return RequestWhenSendableAsync(device, send, state, toResult, request, cancellationToken, haveTurn: false);
        if (Connection.Outgoing.IsFull)
            return RequestWhenSendableAsync(device, send, state, toResult, request, cancellationToken, haveTurn: true);
        PendingRequest<TResult>? pending;
        RequestReply refused;
        try
        {
            pending = RegisterAndSend(device, send, state, toResult, request, out refused);
        }
        finally
        {
            _sendTurn.Release();
        }
        if (pending is null)
            return Task.FromResult(toResult(refused));
        return cancellationToken.CanBeCanceled || request.Timeout is not null ? WatchAsync(pending, cancellationToken) : pending.Task;
    }

    /// <summary>The slow path: waits for the send turn and for space in the send queue, then sends and waits.</summary>
    private async Task<TResult> RequestWhenSendableAsync<TState, TResult>(RemoteUsbDevice device, Func<ulong, TState, bool> send, TState state,
        Func<RequestReply, TResult> toResult, RequestDescription request, CancellationToken cancellationToken, bool haveTurn)
    {
        // One sender at a time checks for space and sends, so a peer that does not read holds callers back and the
        // send queue never exceeds its limit by more than one packet, however many callers there are.
        if (!haveTurn)
        {
            try
            {
                await _sendTurn.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return toResult(new(UsbStatus.Cancelled, 0, 0, false));
            }
        }
        PendingRequest<TResult>? pending;
        RequestReply refused;
        try
        {
            if (Connection.Outgoing.IsFull)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, device.Gone);
                try
                {
                    await WaitForSendSpaceAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    return toResult(new(device.Gone.IsCancellationRequested ? UsbStatus.IoError : UsbStatus.Cancelled, 0, 0, false));
                }
            }
            pending = RegisterAndSend(device, send, state, toResult, request, out refused);
        }
        finally
        {
            _sendTurn.Release();
        }
        if (pending is null)
            return toResult(refused);
        return await WatchAsync(pending, cancellationToken);
    }

    /// <summary>Registers the request under a fresh id and sends it; null (with the local result) when it cannot be. Call holding the send turn.</summary>
    private PendingRequest<TResult>? RegisterAndSend<TState, TResult>(RemoteUsbDevice device, Func<ulong, TState, bool> send, TState state,
        Func<RequestReply, TResult> toResult, in RequestDescription description, out RequestReply refused)
    {
        PendingRequest<TResult> request;
        lock (_requests)
        {
            if (_requestsClosed || device.Gone.IsCancellationRequested)
            {
                refused = new(UsbStatus.IoError, 0, 0, false);
                return null;
            }
            request = new PendingRequest<TResult>(this, AllocateId(), device, description, toResult);
            _requests.Add(request.Id, request);
        }
        if (!send(request.Id, state))
        {
            Abandon(request, UsbStatus.Invalid);
            refused = new(UsbStatus.Invalid, 0, 0, false);
            return null;
        }
        refused = default;
        return request;
    }

    /// <summary>Waits for the answer while watching the caller's token and the request's timeout.</summary>
    private static async Task<TResult> WatchAsync<TResult>(PendingRequest<TResult> request, CancellationToken cancellationToken)
    {
        // Both callbacks leave the caller's thread at once: whoever cancels may hold locks of its own.
        var onCancel = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static r => _ = Task.Run(() => ((IPendingRequest)r!).Session.OnCallerCancelledAsync((IPendingRequest)r!)), request)
            : default;
        CancellationTokenSource? timer = null;
        CancellationTokenRegistration onTimeout = default;
        if (request.Description.Timeout is { } limit)
        {
            timer = new CancellationTokenSource(limit);
            onTimeout = timer.Token.Register(static r => ((IPendingRequest)r!).Session.OnTimedOut((IPendingRequest)r!), request);
        }
        try
        {
            return await request.Task;
        }
        finally
        {
            await onCancel.DisposeAsync();
            await onTimeout.DisposeAsync();
            timer?.Dispose();
        }
    }

    /// <summary>Next id: never 0 (used by unsolicited packets), 32 bits wide unless 64-bit ids were negotiated. Call under the lock.</summary>
    private ulong AllocateId()
    {
        while (true)
        {
            var id = (ulong)++_nextId;
            if (!_ids64)
                id &= 0xFFFF_FFFF;
            if (id != 0 && !_requests.ContainsKey(id))
                return id;
        }
    }

    private async Task OnCallerCancelledAsync(IPendingRequest request)
    {
        try
        {
            if (request.Description.IsDataPacket && IsPending(request))
            {
                // The host answers a cancel at once (cancelled, or the real result if it was already done).
                WithCodec(c => c.SendCancelDataPacket(request.Id));
                await Task.WhenAny(request.Completed, Task.Delay(Options.CancelGrace));
            }
            Abandon(request, UsbStatus.Cancelled);
        }
        catch (Exception e)
        {
            Log.Error($"cancelling request {request.Id} failed: {e.Message}");
            Abandon(request, UsbStatus.Cancelled);
        }
    }

    /// <summary>Runs on a timer thread, where an escaping exception would end the process: everything is caught.</summary>
    private void OnTimedOut(IPendingRequest request)
    {
        try
        {
            if (!IsPending(request))
                return;
            Log.Warning($"the peer did not answer {PacketNames.Of(request.Description.AnswerType)} request {request.Id} within {request.Description.Timeout?.TotalSeconds:0.###} s");
            if (request.Description.AnswerType is UsbRedirPacketType.ControlPacket)
                WithCodec(c => c.SendCancelDataPacket(request.Id));
        }
        catch (Exception e)
        {
            Log.Error($"giving up on request {request.Id} failed: {e.Message}");
        }
        finally
        {
            Abandon(request, UsbStatus.Timeout);
        }
    }

    private bool IsPending(IPendingRequest request)
    {
        lock (_requests)
            return _requests.TryGetValue(request.Id, out var current) && ReferenceEquals(current, request);
    }

    /// <summary>Completes a request locally; its answer, should it still come, is dropped.</summary>
    private void Abandon(IPendingRequest request, UsbStatus status)
    {
        lock (_requests)
        {
            if (!_requests.TryGetValue(request.Id, out var current) || !ReferenceEquals(current, request))
                return;
            _requests.Remove(request.Id);
            if (_abandoned.Count >= AbandonedIdsKept)
                _abandoned.Clear();
            _abandoned.Add(request.Id);
        }
        Deliver(request, new(status, 0, 0, false));
    }

    /// <summary>Hands the result to the caller on a drainer thread (see <see cref="CompletionDispatcher{T}"/>).</summary>
    private void Deliver(IPendingRequest request, RequestReply reply, bool later = false) => _completions.Complete(request, reply, later);

    /// <summary>
    /// The read loop handled a chunk. Its answers wait for the read loop to find the stream empty, so the answers of
    /// every chunk already there go to their callers in one round, on this thread (<see cref="OnReadLoopIdle"/>).
    /// Should chunk after chunk be waiting, a drainer on the thread pool takes the answers after a few, so none waits long.
    /// </summary>
    protected override void OnChunkHandled()
    {
        if (++_chunksSinceDelivery < ChunksBeforeHandOff)
            return;
        _chunksSinceDelivery = 0;
        _completions.StartDelivering();
    }

    /// <summary>Reading goes on elsewhere: this thread completes the callers (and sends what they ask next) meanwhile.</summary>
    protected override void OnReadLoopIdle()
    {
        _chunksSinceDelivery = 0;
        _completions.DeliverOnThisThread();
    }

    /// <summary>Completes every request of <paramref name="device"/> locally with <paramref name="status"/>.</summary>
    internal void AbandonAll(RemoteUsbDevice device, UsbStatus status)
    {
        IPendingRequest[] mine;
        lock (_requests)
            mine = _requests.Values.Where(r => ReferenceEquals(r.Device, device)).ToArray();
        foreach (var r in mine)
            Abandon(r, status);
    }

    private void FailAllRequests()
    {
        IPendingRequest[] all;
        lock (_requests)
        {
            _requestsClosed = true;
            all = _requests.Values.ToArray();
            _requests.Clear();
        }
        foreach (var r in all)
            Deliver(r, new(UsbStatus.IoError, 0, 0, false));
    }

    /// <summary>Delivers an answer from the peer (read loop); an answer nobody asked for is reported.</summary>
    private void Complete(ulong id, UsbRedirPacketType type, UsbStatus status, int length, byte value, ReadOnlySpan<byte> payload)
    {
        if (!TryComplete(id, type, status, length, value, payload))
            ReportUnknownAnswer(id, type);
    }

    private bool TryComplete(ulong id, UsbRedirPacketType type, UsbStatus status, int length, byte value, ReadOnlySpan<byte> payload)
    {
        IPendingRequest? request;
        lock (_requests)
        {
            if (!_requests.Remove(id, out request))
                return _abandoned.Remove(id); // a late answer to a request we gave up on: expected, dropped
        }
        // Removing it made this the only completion: the caller's buffer is ours until we complete.
        var asked = request.Description;
        if (asked.AnswerType != type)
        {
            Log.Error($"the peer answered {PacketNames.Of(asked.AnswerType)} request {id} with {PacketNames.Of(type)}");
            Deliver(request, new(UsbStatus.IoError, 0, 0, true), later: true);
            return true;
        }
        int actual;
        if (asked.IsIn)
        {
            actual = payload.Length;
            if (actual > asked.InBuffer.Length)
            {
                Log.Error($"the peer sent {actual} bytes for request {id}, which asked for {asked.InBuffer.Length}; the rest was dropped");
                actual = asked.InBuffer.Length;
                status = UsbStatus.Babble;
            }
            payload[..actual].CopyTo(asked.InBuffer.Span);
        }
        else
        {
            actual = Math.Clamp(length, 0, asked.OutLength);
        }
        Deliver(request, new(status, actual, value, true), later: true); // read loop: started at the end of the chunk
        return true;
    }

    private void ReportUnknownAnswer(ulong id, UsbRedirPacketType type)
    {
        var count = Interlocked.Increment(ref _unknownAnswers);
        // A hostile peer could send millions: log the first few, then every thousandth.
        if (count <= 10 || count % 1000 == 0)
            Log.Error($"the peer sent {PacketNames.Of(type)} with id {id}, which answers no request of ours; ignored ({count} so far)");
    }
}
