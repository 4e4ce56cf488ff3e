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

    private readonly Dictionary<ulong, PendingTransfer> _pending = new();
    private bool _resetSinceLastTransfer;

    private sealed class PendingTransfer(ulong id, Func<UsbStatus, bool> sendCancelled, CancellationToken sessionEnded)
    {
        public ulong Id { get; } = id;
        public CancellationTokenSource Cancellation { get; } = CancellationTokenSource.CreateLinkedTokenSource(sessionEnded);
        public bool Answered { get; set; }
        public Func<UsbStatus, bool> SendCancelled { get; } = sendCancelled;
    }

    /// <summary>Transfers submitted to the device and not yet answered.</summary>
    public int PendingTransferCount { get { lock (_pending) return _pending.Count; } }

    private PendingTransfer? Register(ulong id, Func<UsbStatus, bool> sendFailure)
    {
        var transfer = new PendingTransfer(id, sendFailure, _sessionEnded.Token);
        lock (_pending)
        {
            if (_pending.ContainsKey(id))
            {
                Log.Error($"the peer reused id {id} while that transfer is still pending; answering it with inval");
                transfer.Cancellation.Dispose();
                sendFailure(UsbStatus.Invalid);
                return null;
            }
            _pending[id] = transfer;
            _resetSinceLastTransfer = false;
        }
        return transfer;
    }

    /// <summary>Claims the right to answer; false when a cancel already answered the transfer.</summary>
    private bool Finish(PendingTransfer transfer)
    {
        bool first;
        lock (_pending)
        {
            first = !transfer.Answered;
            transfer.Answered = true;
            if (_pending.TryGetValue(transfer.Id, out var current) && ReferenceEquals(current, transfer))
                _pending.Remove(transfer.Id);
        }
        transfer.Cancellation.Dispose();
        return first;
    }

    private void CancelTransfer(ulong id)
    {
        PendingTransfer? transfer;
        lock (_pending)
        {
            if (!_pending.Remove(id, out transfer) || transfer.Answered)
                return; // already completed: its reply is on its way
            transfer.Answered = true;
        }
        TryCancel(transfer.Cancellation);
        transfer.SendCancelled(UsbStatus.Cancelled);
    }

    /// <summary>Cancels unless the transfer finished (and disposed its source) in the meantime.</summary>
    private static void TryCancel(CancellationTokenSource source)
    {
        try { source.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>Cancels every pending transfer and receiving stream; each pending transfer is answered "cancelled".</summary>
    private void CancelAll(bool reportStreamsStalled = false)
    {
        PendingTransfer[] all;
        lock (_pending)
        {
            all = _pending.Values.ToArray();
            _pending.Clear();
            foreach (var t in all)
                t.Answered = true;
        }
        foreach (var t in all)
        {
            TryCancel(t.Cancellation);
            t.SendCancelled(UsbStatus.Cancelled);
        }
        StopAllStreams(reportStreamsStalled);
    }

    private async ValueTask SubmitControlAsync(UsbRedirEvent packet)
    {
        var h = packet.ControlPacket;
        var id = packet.Id;
        bool Fail(UsbStatus s) => TrySend(id, h with { Status = s, Length = 0 });
        if (!IsConnected)
        {
            Fail(UsbStatus.IoError);
            return;
        }
        if (_layout.EndpointType[DeviceLayout.EndpointIndex(h.Endpoint)] != UsbEndpointType.Control)
        {
            Fail(UsbStatus.Invalid);
            return;
        }
        var isIn = (h.Endpoint & 0x80) != 0;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max((int)h.Length, 1));
        if (!isIn)
            packet.Payload.Span.CopyTo(buffer);
        var transfer = Register(id, Fail);
        if (transfer is null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        await WaitForSendSpaceAsync(_sessionEnded.Token);
        _ = RunControlAsync(transfer, h, buffer, isIn);
    }

    private async Task RunControlAsync(PendingTransfer transfer, ControlPacketHeader h, byte[] buffer, bool isIn)
    {
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
            if (!Finish(transfer))
                return;
            var length = Math.Clamp(result.ActualLength, 0, h.Length);
            if (isIn)
                TrySend(transfer.Id, h with { Status = result.Status, Length = (ushort)length }, buffer.AsSpan(0, length));
            else
                TrySend(transfer.Id, h with { Status = result.Status, Length = (ushort)length });
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Standard requests that change device state go through the dedicated IUsbDevice calls (so layouts stay right);
    /// CLEAR_FEATURE(ENDPOINT_HALT) becomes a local clear-halt, as usbredirhost does.
    /// </summary>
    private async Task<UsbTransferResult> RunStandardOrControlAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken token)
    {
        if (setup is { RequestType: 0x02, Request: 0x01, Value: 0, Length: 0 })
            return new(await Device.ClearHaltAsync((byte)setup.Index, token), 0);
        if (setup is { RequestType: 0x00, Request: 0x09, Length: 0 })
        {
            var status = await Device.SetConfigurationAsync((byte)setup.Value, token);
            RefreshLayout();
            return new(status, 0);
        }
        if (setup is { RequestType: 0x01, Request: 0x0B, Length: 0 })
        {
            var status = await Device.SetAlternateSettingAsync((byte)setup.Index, (byte)setup.Value, token);
            RefreshLayout();
            return new(status, 0);
        }
        return await Device.ControlTransferAsync(setup, data, token);
    }

    private async ValueTask SubmitBulkAsync(UsbRedirEvent packet)
    {
        var h = packet.BulkPacket;
        var id = packet.Id;
        bool Fail(UsbStatus s) => TrySend(id, h with { Status = s, Length = 0 });
        if (!IsConnected)
        {
            Fail(UsbStatus.IoError);
            return;
        }
        if (_layout.EndpointType[DeviceLayout.EndpointIndex(h.Endpoint)] != UsbEndpointType.Bulk)
        {
            Fail(UsbStatus.Invalid);
            return;
        }
        var isIn = (h.Endpoint & 0x80) != 0;
        var length = (int)h.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        if (!isIn)
            packet.Payload.Span.CopyTo(buffer);
        var transfer = Register(id, Fail);
        if (transfer is null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        await WaitForSendSpaceAsync(_sessionEnded.Token);
        _ = RunDataAsync(transfer, h.Endpoint, buffer, length, isIn,
            (status, n, data) => TrySend(transfer.Id, h with { Status = status, Length = (uint)n }, data), h.StreamId);
    }

    private async ValueTask SubmitInterruptOutAsync(UsbRedirEvent packet)
    {
        var h = packet.InterruptPacket;
        var id = packet.Id;
        bool Fail(UsbStatus s) => TrySend(id, h with { Status = s, Length = 0 });
        if (!IsConnected)
        {
            Fail(UsbStatus.IoError);
            return;
        }
        var index = DeviceLayout.EndpointIndex(h.Endpoint);
        if (_layout.EndpointType[index] != UsbEndpointType.Interrupt || (h.Endpoint & 0x80) != 0 ||
            h.Length > _layout.EndpointMaxPacketSize[index])
        {
            Fail(UsbStatus.Invalid);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max((int)h.Length, 1));
        packet.Payload.Span.CopyTo(buffer);
        var transfer = Register(id, Fail);
        if (transfer is null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        await WaitForSendSpaceAsync(_sessionEnded.Token);
        _ = RunDataAsync(transfer, h.Endpoint, buffer, h.Length, isIn: false,
            (status, n, _) => TrySend(transfer.Id, h with { Status = status, Length = (ushort)n }));
    }

    private delegate bool Reply(UsbStatus status, int length, ReadOnlySpan<byte> data);

    /// <param name="streamId">The USB 3 bulk stream (0: none); the device refuses one that was never allocated.</param>
    private async Task RunDataAsync(PendingTransfer transfer, byte endpoint, byte[] buffer, int length, bool isIn, Reply reply, uint streamId = 0)
    {
        var result = UsbTransferResult.Failed(UsbStatus.IoError);
        try
        {
            result = streamId == 0
                ? await Device.TransferAsync(endpoint, buffer.AsMemory(0, length), transfer.Cancellation.Token)
                : await Device.StreamTransferAsync(endpoint, streamId, buffer.AsMemory(0, length), transfer.Cancellation.Token);
        }
        catch (Exception e)
        {
            Log.Error($"transfer on endpoint 0x{endpoint:x2} failed: {e.Message}");
        }
        try
        {
            if (!Finish(transfer))
                return;
            var n = Math.Clamp(result.ActualLength, 0, length);
            reply(result.Status, n, isIn ? buffer.AsSpan(0, n) : default);
            if (Device.Gone.IsCancellationRequested)
                ReleaseDevice("the device went away during a transfer");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
