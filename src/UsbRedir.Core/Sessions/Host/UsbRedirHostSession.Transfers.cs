using System.Buffers;
using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// Data packets: each transfer runs on the device concurrently and is answered exactly once — with its result,
// or at once with "cancelled" when the guest cancels it first (the late result is then dropped).
public sealed partial class UsbRedirHostSession
{
    /// <summary>usbredirhost's control transfer timeout.</summary>
    private static readonly TimeSpan ControlTimeout = TimeSpan.FromSeconds(5);

    private readonly Dictionary<ulong, HostTransfer> _pending = new();

    /// <summary>
    /// Per endpoint, its bulk transfers without a stream in the order the peer sent them, until each is answered (under
    /// the <c>_pending</c> lock). Their answers leave in that order: QEMU's usb-redir pipelines such packets and aborts when
    /// one is answered before an older one of its endpoint. A device completes an endpoint's transfers in order, but a
    /// transfer it refuses at once (it just went away, say) would otherwise be answered before the older ones.
    /// </summary>
    private readonly Dictionary<byte, Queue<HostTransfer>> _answerOrder = new();
    private bool _resetSinceLastTransfer;

    /// <summary>Transfers submitted to the device and not yet answered.</summary>
    public int PendingTransferCount { get { lock (_pending) return _pending.Count; } }

    /// <summary>
    /// Makes <paramref name="transfer"/> pending; false (answered inval, or cancelled after session end, and released)
    /// when it cannot run.
    /// </summary>
    private bool Register(HostTransfer transfer)
    {
        UsbStatus refusal;
        lock (_pending)
        {
            // Session end cancels what is pending (OnEnded: _sessionEnded first, then CancelAll under this lock), so a
            // transfer that comes in after it never runs.
            if (_sessionEnded.IsCancellationRequested)
                refusal = UsbStatus.Cancelled;
            else if (_pending.ContainsKey(transfer.Id))
            {
                Log.Error($"the peer reused id {transfer.Id} while that transfer is still pending; answering it with inval");
                refusal = UsbStatus.Invalid;
            }
            else
            {
                _pending[transfer.Id] = transfer;
                _resetSinceLastTransfer = false;
                return true;
            }
        }
        Answer(transfer, refusal);
        ReleaseTransfer(transfer);
        return false;
    }

    /// <summary>Claims the right to answer; false when a cancel already answered the transfer.</summary>
    private bool Finish(HostTransfer transfer)
    {
        lock (_pending)
        {
            var first = !transfer.Answered;
            transfer.Answered = true;
            if (_pending.TryGetValue(transfer.Id, out var current) && ReferenceEquals(current, transfer))
                _pending.Remove(transfer.Id);
            return first;
        }
    }

    private void CancelTransfer(ulong id)
    {
        HostTransfer? transfer;
        lock (_pending)
        {
            if (!_pending.Remove(id, out transfer) || transfer.Answered)
                return; // already completed: its reply is on its way
            transfer.Answered = true;
            transfer.Holders++; // until it is cancelled and answered (see HostTransfer)
        }
        CancelAndAnswer(transfer);
    }

    /// <summary>Cancels the device's work on a transfer this canceller holds, answers it "cancelled" and lets go.</summary>
    private void CancelAndAnswer(HostTransfer transfer)
    {
        try
        {
            transfer.Cancellation.Cancel();
        }
        catch (Exception e)
        {
            // A device's cancellation callback that throws must not stop this answer or the other cancellations.
            Log.Error($"cancelling transfer {transfer.Id} on the device failed: {e.Message}");
        }
        try
        {
            Answer(transfer, UsbStatus.Cancelled);
        }
        finally
        {
            ReleaseTransfer(transfer);
        }
    }

    /// <summary>Cancels unless the owner finished (and disposed the source) in the meantime.</summary>
    private static void TryCancel(CancellationTokenSource source)
    {
        try { source.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>Cancels every pending transfer and receiving stream; each pending transfer is answered "cancelled".</summary>
    private void CancelAll(bool reportStreamsStalled = false)
    {
        HostTransfer[] all;
        lock (_pending)
        {
            all = _pending.Values.ToArray();
            _pending.Clear();
            foreach (var t in all)
            {
                t.Answered = true;
                t.Holders++;
            }
        }
        foreach (var t in all)
            CancelAndAnswer(t);
        StopAllStreams(reportStreamsStalled);
    }

    private async ValueTask SubmitControlAsync(UsbRedirEvent packet)
    {
        var h = packet.ControlPacket;
        var id = packet.Id;
        var connected = IsConnected;
        if (!connected || _layout.EndpointType[DeviceLayout.EndpointIndex(h.Endpoint)] != UsbEndpointType.Control)
        {
            TrySend(id, h with { Status = connected ? UsbStatus.Invalid : UsbStatus.IoError, Length = 0 });
            return;
        }
        var isIn = (h.Endpoint & 0x80) != 0;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max((int)h.Length, 1));
        if (!isIn)
            packet.Payload.Span.CopyTo(buffer);
        var transfer = RentTransfer(id, UsbRedirPacketType.ControlPacket);
        transfer.Control = h;
        if (!Register(transfer))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        await WaitForSendSpaceAsync(_sessionEnded.Token);
        _ = RunControlAsync(transfer, buffer, isIn);
    }

    private async Task RunControlAsync(HostTransfer transfer, byte[] buffer, bool isIn)
    {
        var h = transfer.Control;
        var result = UsbTransferResult.Failed(UsbStatus.IoError);
        try
        {
            transfer.Cancellation.CancelAfter(ControlTimeout);
            var setup = new UsbSetupPacket(h.RequestType, h.Request, h.Value, h.Index, h.Length);
            result = await RunStandardOrControlAsync(setup, buffer.AsMemory(0, h.Length), transfer.Cancellation.Token);
            if (result.Status == UsbStatus.Cancelled && !transfer.Answered)
                result = UsbTransferResult.Failed(UsbStatus.Timeout); // only the timeout cancels a transfer nobody cancelled
        }
        catch (Exception e)
        {
            Log.Error($"control transfer {h.RequestType:x2}/{h.Request:x2} failed: {e.Message}");
        }
        try
        {
            if (Finish(transfer))
            {
                var length = Math.Clamp(result.ActualLength, 0, h.Length);
                Answer(transfer, result.Status, length, isIn ? buffer.AsSpan(0, length) : default);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ReleaseTransfer(transfer);
        }
    }

    /// <summary>
    /// Standard requests that change device state go through the dedicated IUsbDevice calls (so layouts stay right);
    /// CLEAR_FEATURE(ENDPOINT_HALT) becomes a local clear-halt, as usbredirhost does.
    /// </summary>
    private async Task<UsbTransferResult> RunStandardOrControlAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken token)
    {
        var state = UsbStateRequest.Of(setup);
        switch (state.Kind)
        {
            case UsbStateRequestKind.ClearEndpointHalt:
                return new(await Device.ClearHaltAsync(state.Target, token), 0);
            case UsbStateRequestKind.SetConfiguration:
            {
                var status = await Device.SetConfigurationAsync(state.Value, token);
                RefreshLayout();
                return new(status, 0);
            }
            case UsbStateRequestKind.SetInterface:
            {
                var status = await Device.SetAlternateSettingAsync(state.Target, state.Value, token);
                RefreshLayout();
                return new(status, 0);
            }
            default:
                return await Device.ControlTransferAsync(setup, data, token);
        }
    }

    private async ValueTask SubmitBulkAsync(UsbRedirEvent packet)
    {
        var h = packet.BulkPacket;
        var id = packet.Id;
        var connected = IsConnected;
        if (!connected || _layout.EndpointType[DeviceLayout.EndpointIndex(h.Endpoint)] != UsbEndpointType.Bulk)
        {
            TrySend(id, h with { Status = connected ? UsbStatus.Invalid : UsbStatus.IoError, Length = 0 });
            return;
        }
        var isIn = (h.Endpoint & 0x80) != 0;
        var length = (int)h.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        if (!isIn)
            packet.Payload.Span.CopyTo(buffer);
        var transfer = RentTransfer(id, UsbRedirPacketType.BulkPacket);
        transfer.Bulk = h;
        if (!Register(transfer))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        await WaitForSendSpaceAsync(_sessionEnded.Token);
        RunData(transfer, buffer);
    }

    private async ValueTask SubmitInterruptOutAsync(UsbRedirEvent packet)
    {
        var h = packet.InterruptPacket;
        var id = packet.Id;
        var index = DeviceLayout.EndpointIndex(h.Endpoint);
        var connected = IsConnected;
        if (!connected || _layout.EndpointType[index] != UsbEndpointType.Interrupt || (h.Endpoint & 0x80) != 0 ||
            h.Length > _layout.EndpointMaxPacketSize[index])
        {
            TrySend(id, h with { Status = connected ? UsbStatus.Invalid : UsbStatus.IoError, Length = 0 });
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max((int)h.Length, 1));
        packet.Payload.Span.CopyTo(buffer);
        var transfer = RentTransfer(id, UsbRedirPacketType.InterruptPacket);
        transfer.Interrupt = h;
        if (!Register(transfer))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        await WaitForSendSpaceAsync(_sessionEnded.Token);
        RunData(transfer, buffer);
    }

    /// <summary>
    /// Runs a bulk or interrupt transfer on the device and answers it when it completes (<see cref="DataDone"/>).
    /// </summary>
    private void RunData(HostTransfer transfer, byte[] buffer)
    {
        transfer.Buffer = buffer;
        transfer.Ready = false;
        var (endpoint, streamId) = (transfer.Endpoint, transfer.StreamId);
        if (transfer.Ordered)
        {
            lock (_pending)
            {
                if (!_answerOrder.TryGetValue(endpoint, out var queue))
                    _answerOrder[endpoint] = queue = new Queue<HostTransfer>();
                queue.Enqueue(transfer);
            }
        }
        Task<UsbTransferResult> task;
        try
        {
            var data = buffer.AsMemory(0, transfer.Length);
            if (Device is IInlineCompletingDevice inline)
            {
                // On a device that can (libusb), the answer is sent on the thread that completed the transfer, as
                // usbredirhost's completion callback writes it, and so in the order the device completed them: QEMU's
                // usb-redir aborts when a bulk OUT is answered before an older one on the same endpoint. Nothing there blocks.
                inline.StartTransfer(endpoint, streamId, data, _dataDone, transfer, transfer.Cancellation.Token);
                return;
            }
            task = streamId == 0 ? Device.TransferAsync(endpoint, data, transfer.Cancellation.Token)
                : Device.StreamTransferAsync(endpoint, streamId, data, transfer.Cancellation.Token);
        }
        catch (Exception e)
        {
            Log.Error($"transfer on endpoint 0x{endpoint:x2} failed: {e.Message}");
            task = Task.FromResult(UsbTransferResult.Failed(UsbStatus.IoError));
        }
        _ = AwaitDataAsync(task, transfer);
    }

    private async Task AwaitDataAsync(Task<UsbTransferResult> task, HostTransfer transfer)
    {
        UsbTransferResult result;
        try
        {
            result = await task;
        }
        catch (Exception e)
        {
            Log.Error($"transfer on endpoint 0x{transfer.Endpoint:x2} failed: {e.Message}");
            result = UsbTransferResult.Failed(UsbStatus.IoError);
        }
        DataDone(result, transfer);
    }

    /// <summary>
    /// A bulk or interrupt transfer's result: answers it (unless a cancel did) and lets go of it, and, for one that keeps its
    /// endpoint's order, then the younger ones of the endpoint whose results were waiting for it. One that finished before
    /// an older one of its endpoint was answered waits; the thread that answers the older one answers it.
    /// </summary>
    private void DataDone(UsbTransferResult result, object state)
    {
        var transfer = (HostTransfer)state;
        if (!transfer.Ordered)
        {
            AnswerData(transfer, result);
            ReleaseData(transfer);
            return;
        }
        lock (_pending)
        {
            transfer.Result = result;
            transfer.Ready = true;
            if (!ReferenceEquals(_answerOrder[transfer.Endpoint].Peek(), transfer))
                return;
        }
        for (HostTransfer? next = transfer; next is not null;)
        {
            transfer = next;
            AnswerData(transfer, transfer.Result);
            lock (_pending)
            {
                // Out of the queue before the record can go back to the pool (ReleaseData).
                var queue = _answerOrder[transfer.Endpoint];
                queue.Dequeue();
                next = queue.TryPeek(out var younger) && younger.Ready ? younger : null;
            }
            ReleaseData(transfer);
        }
    }

    /// <summary>Sends a bulk or interrupt transfer's answer, unless a cancel already answered it.</summary>
    private void AnswerData(HostTransfer transfer, UsbTransferResult result)
    {
        try
        {
            if (Finish(transfer))
            {
                var n = Math.Clamp(result.ActualLength, 0, transfer.Length);
                Answer(transfer, result.Status, n, transfer.IsIn ? transfer.Buffer.AsSpan(0, n) : default);
                if (Device.Gone.IsCancellationRequested)
                    ReleaseDevice("the device went away during a transfer");
            }
        }
        catch (Exception e)
        {
            // On a device's event thread nothing may escape (it would stop every other completion of the device).
            Log.Error($"answering transfer {transfer.Id} on endpoint 0x{transfer.Endpoint:x2} failed: {e.Message}");
        }
    }

    /// <summary>Returns a bulk or interrupt transfer's buffer and lets go of its record.</summary>
    private void ReleaseData(HostTransfer transfer)
    {
        var buffer = transfer.Buffer!;
        transfer.Buffer = null;
        ArrayPool<byte>.Shared.Return(buffer);
        ReleaseTransfer(transfer);
    }
}
