using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// Streams the host runs on its own: interrupt IN receiving (interrupt_packet) and buffered bulk IN receiving
// (buffered_bulk_packet). Each keeps several transfers in flight, numbers its packets 0, 1, 2, ... from every
// (re)start, drops data rather than queue without bound when the peer is slow, and reports a stream that dies on
// its own with an unsolicited stall status.
public sealed partial class UsbRedirHostSession
{
    /// <summary>usbredirhost keeps 5 interrupt transfers in flight.</summary>
    private const int InterruptTransfersInFlight = 5;

    /// <summary>More queued packets than this (0.1 s of USB 2 microframes) and stream data is dropped, as in usbredirhost.</summary>
    private const int DropThresholdPackets = 800;

    private readonly Dictionary<byte, HostReceivingStream> _streams = new();

    private void StartInterruptReceiving(ulong id, byte endpoint)
    {
        var index = DeviceLayout.EndpointIndex(endpoint);
        var status = StartStream(endpoint, buffered: false, UsbEndpointType.Interrupt, _layout.EndpointMaxPacketSize[index], InterruptTransfersInFlight);
        if (status is not { } s)
            return;
        if (IsConnected)
            SendStreamStatus(id, endpoint, s); // a bulk endpoint answers bulk_receiving_status, as usbredirhost does
        else
            TrySend(id, new InterruptReceivingStatusHeader(s, endpoint));
    }

    private void StartBulkReceiving(ulong id, StartBulkReceivingHeader h)
    {
        var index = DeviceLayout.EndpointIndex(h.Endpoint);
        var mps = _layout.EndpointMaxPacketSize[index];
        UsbStatus? status;
        if (h.StreamId != 0 || h.TransferCount is < 1 or > 16 || h.BytesPerTransfer == 0 || mps == 0 || h.BytesPerTransfer % mps != 0)
            status = IsConnected ? UsbStatus.Stall : UsbStatus.IoError;
        else
            status = StartStream(h.Endpoint, buffered: true, UsbEndpointType.Bulk, (int)h.BytesPerTransfer, h.TransferCount);
        if (status is not { } s)
            return;
        if (IsConnected)
            SendStreamStatus(id, h.Endpoint, s); // an interrupt endpoint answers interrupt_receiving_status, as usbredirhost does
        else
            TrySend(id, new BulkReceivingStatusHeader(0, h.Endpoint, s));
    }

    /// <summary>Returns the status to send now, or null when no reply is due.</summary>
    private UsbStatus? StartStream(byte endpoint, bool buffered, UsbEndpointType expected, int transferSize, int inFlight)
    {
        if (!IsConnected)
            return UsbStatus.IoError;
        if (_layout.EndpointType[DeviceLayout.EndpointIndex(endpoint)] != expected || (endpoint & 0x80) == 0 || transferSize <= 0)
            return UsbStatus.Stall;
        HostReceivingStream stream;
        lock (_streams)
        {
            if (_streams.ContainsKey(endpoint))
                return UsbStatus.Invalid;
            stream = new HostReceivingStream(endpoint, buffered, _sessionEnded.Token);
            _streams[endpoint] = stream;
        }
        _ = ReceiveLoopAsync(stream, transferSize, inFlight);
        return UsbStatus.Success;
    }

    /// <summary>
    /// Keeps <paramref name="inFlight"/> transfers queued on the endpoint and delivers their data strictly in submission
    /// order — the order the device produced it (a keyboard's key-down must never overtake its key-up) — resubmitting
    /// each as it completes.
    /// </summary>
    private async Task ReceiveLoopAsync(HostReceivingStream stream, int size, int inFlight)
    {
        var queue = new Queue<(Task<UsbTransferResult> Transfer, byte[] Buffer)>();
        var recovered = false;
        try
        {
            for (var i = 0; i < inFlight; i++)
                queue.Enqueue(Submit(stream, new byte[size]));
            while (!stream.Stop.IsCancellationRequested)
            {
                var (transfer, buffer) = queue.Dequeue();
                var result = await transfer;
                if (stream.Stop.IsCancellationRequested)
                    return;
                if (result.Status is UsbStatus.Success)
                {
                    Deliver(stream, result.Status, buffer.AsSpan(0, Math.Clamp(result.ActualLength, 0, size)));
                    queue.Enqueue(Submit(stream, buffer));
                    continue;
                }
                if (Device.Gone.IsCancellationRequested)
                {
                    ReleaseDevice("the device went away");
                    return;
                }
                // One attempt to clear the halt and go on, as usbredirhost does; then report the stream dead.
                if (!recovered && await Device.ClearHaltAsync(stream.Endpoint, stream.Stop.Token) == UsbStatus.Success)
                {
                    recovered = true;
                    queue.Enqueue(Submit(stream, buffer));
                    continue;
                }
                Log.Error($"receiving on endpoint 0x{stream.Endpoint:x2} stopped: {result.Status}");
                StopStream(stream.Endpoint, reportStall: true);
                return;
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            Log.Error($"receiving on endpoint 0x{stream.Endpoint:x2} failed: {e.Message}");
            StopStream(stream.Endpoint, reportStall: true);
        }
        finally
        {
            TryCancel(stream.Stop);
            foreach (var (transfer, _) in queue)
                await transfer.ContinueWith(_ => { }, TaskScheduler.Default); // let the device finish with the buffers
            stream.Stop.Dispose();
        }
    }

    private (Task<UsbTransferResult>, byte[]) Submit(HostReceivingStream stream, byte[] buffer) =>
        (Device.TransferAsync(stream.Endpoint, buffer, stream.Stop.Token), buffer);

    private void Deliver(HostReceivingStream stream, UsbStatus status, ReadOnlySpan<byte> data)
    {
        if (Connection.Outgoing.QueuedChunks > DropThresholdPackets)
        {
            if (!stream.DropWarned)
                Log.Warning($"the peer is not keeping up: dropping data from endpoint 0x{stream.Endpoint:x2}");
            stream.DropWarned = true;
            return;
        }
        stream.DropWarned = false;
        var id = (ulong)(Interlocked.Increment(ref stream.NextId) - 1);
        if (stream.Buffered)
            TrySend(id, new BufferedBulkPacketHeader(0, (uint)data.Length, stream.Endpoint, status), data);
        else
            TrySend(id, new InterruptPacketHeader(stream.Endpoint, status, (ushort)data.Length), data);
    }

    private void StopStream(byte endpoint, bool reportStall)
    {
        HostReceivingStream? stream;
        lock (_streams)
            if (!_streams.Remove(endpoint, out stream))
                return;
        TryCancel(stream.Stop);
        if (!reportStall)
            return;
        if (stream.Buffered)
            TrySend(0, new BulkReceivingStatusHeader(0, endpoint, UsbStatus.Stall));
        else
            TrySend(0, new InterruptReceivingStatusHeader(UsbStatus.Stall, endpoint));
    }

    private void StopAllStreams(bool reportStall)
    {
        byte[] endpoints;
        lock (_streams)
            endpoints = _streams.Keys.ToArray();
        foreach (var ep in endpoints)
            StopStream(ep, reportStall);
        StopAllIsoStreams(reportStall);
    }
}
