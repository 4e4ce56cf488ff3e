using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// Isochronous streams, as usbredirhost runs them. IN: the host keeps no_urbs transfers of pkts_per_urb packets at the
// device, resubmits each as it completes and sends one iso_packet per packet, numbered 0, 1, 2, ... from every
// (re)start; a failed packet goes out empty with its status. OUT: the guest's iso_packets fill an IsoOutBuffer, which
// decides when transfers go to the device. A stream that dies on its own gets one clear-halt and restart, then an
// unsolicited stall. A slow peer makes the host drop IN packets rather than queue them without bound.
public sealed partial class UsbRedirHostSession
{
    /// <summary>usbredir's limits on start_iso_stream.</summary>
    private const int MaxIsoPacketsPerTransfer = 32;
    private const int MaxIsoTransfers = 16;

    private readonly Dictionary<byte, HostIsoStream> _isoStreams = new();
    // Endpoints whose unusable iso_packets were already logged: a peer streaming at 8000 packets/s must not flood the log.
    private readonly HashSet<byte> _isoComplained = new();
    private long _isoInDropped;
    private long _isoOutDropped;

    /// <summary>IN iso packets the device produced that were dropped because the peer did not keep up.</summary>
    public long IsoInPacketsDropped => Interlocked.Read(ref _isoInDropped);

    /// <summary>OUT iso packets from the peer dropped because the device's buffer ring was full (the peer ran ahead of the device).</summary>
    public long IsoOutPacketsDropped => Interlocked.Read(ref _isoOutDropped);

    private void StartIsoStream(ulong id, StartIsoStreamHeader h)
    {
        var index = DeviceLayout.EndpointIndex(h.Endpoint);
        var packetSize = (int)_layout.EndpointMaxPacketSize[index];
        UsbStatus status;
        if (!IsConnected)
            status = UsbStatus.IoError;
        else if (_layout.EndpointType[index] != UsbEndpointType.Isochronous)
        {
            Log.Warning($"start_iso_stream on endpoint 0x{h.Endpoint:x2}, which is {_layout.EndpointType[index]}, not isochronous");
            status = UsbStatus.Stall;
        }
        else if (h.PacketsPerUrb is < 1 or > MaxIsoPacketsPerTransfer || h.UrbCount is < 1 or > MaxIsoTransfers || packetSize == 0)
        {
            Log.Warning($"start_iso_stream on endpoint 0x{h.Endpoint:x2} with {h.PacketsPerUrb} packets × {h.UrbCount} transfers " +
                $"(max packet size {packetSize}): usbredir allows 1-{MaxIsoPacketsPerTransfer} packets and 1-{MaxIsoTransfers} transfers");
            status = UsbStatus.Stall;
        }
        else
            status = TryStartIsoStream(h.Endpoint, h.PacketsPerUrb, h.UrbCount, packetSize);
        SendStreamStatus(id, h.Endpoint, status);
    }

    private UsbStatus TryStartIsoStream(byte endpoint, int packetsPerTransfer, int transfers, int packetSize)
    {
        HostIsoStream stream;
        lock (_isoStreams)
        {
            if (_isoStreams.ContainsKey(endpoint))
                return UsbStatus.Invalid;
            stream = new HostIsoStream(endpoint, packetsPerTransfer, transfers, packetSize, _sessionEnded.Token);
            _isoStreams[endpoint] = stream;
            _isoComplained.Remove(endpoint);
        }
        Log.Info($"iso stream on endpoint 0x{endpoint:x2}: {transfers} transfers × {packetsPerTransfer} packets of {packetSize} bytes");
        if (stream.Out is null)
            _ = IsoInLoopAsync(stream);
        return UsbStatus.Success;
    }

    /// <summary>
    /// stop_iso_stream, stop_interrupt_receiving and stop_bulk_receiving alike: usbredirhost stops whatever stream the
    /// endpoint runs and answers with the status packet of its real type (none for control and absent endpoints);
    /// observed against the real libusbredirhost in a VM (usb-kbd and usb-storage).
    /// </summary>
    private void StopStreamRequest(ulong id, byte endpoint)
    {
        if (!IsConnected)
            return; // usbredirhost sends no reply to a stop while disconnected
        if (_layout.EndpointType[DeviceLayout.EndpointIndex(endpoint)] == UsbEndpointType.Isochronous)
            StopIsoStream(endpoint, reportStall: false);
        else
            StopStream(endpoint, reportStall: false);
        SendStreamStatus(id, endpoint, UsbStatus.Success);
    }

    /// <summary>
    /// Sends the stream status packet that matches the endpoint's real type, as usbredirhost does: iso_stream_status,
    /// interrupt_receiving_status or bulk_receiving_status. Control and absent endpoints get no reply (callers log why).
    /// </summary>
    private void SendStreamStatus(ulong id, byte endpoint, UsbStatus status)
    {
        switch (_layout.EndpointType[DeviceLayout.EndpointIndex(endpoint)])
        {
            case UsbEndpointType.Isochronous:
                TrySend(id, new IsoStreamStatusHeader(status, endpoint));
                break;
            case UsbEndpointType.Interrupt when (endpoint & 0x80) != 0:
                TrySend(id, new InterruptReceivingStatusHeader(status, endpoint));
                break;
            case UsbEndpointType.Bulk when (endpoint & 0x80) != 0:
                TrySend(id, new BulkReceivingStatusHeader(0, endpoint, status));
                break;
            default:
                break;
        }
    }

    /// <param name="only">Stop the endpoint's stream only if it is still this one (not a newer start).</param>
    private void StopIsoStream(byte endpoint, bool reportStall, HostIsoStream? only = null)
    {
        HostIsoStream? stream;
        lock (_isoStreams)
        {
            if (!_isoStreams.TryGetValue(endpoint, out stream) || (only is not null && !ReferenceEquals(stream, only)))
                return;
            _isoStreams.Remove(endpoint);
        }
        TryCancel(stream.Stop);
        if (stream.Out is not null)
            stream.Stop.Dispose(); // OUT completions only read StopToken; the IN loop disposes its own on exit
        Log.Info(stream.Out is null
            ? $"iso stream on endpoint 0x{endpoint:x2} stopped: {Interlocked.Read(ref stream.Moved)} packets sent, {Interlocked.Read(ref stream.Dropped)} dropped (peer too slow)"
            : $"iso stream on endpoint 0x{endpoint:x2} stopped: {Interlocked.Read(ref stream.Moved)} packets received, {Interlocked.Read(ref stream.Dropped)} dropped (ring full)");
        if (reportStall)
            TrySend(0, new IsoStreamStatusHeader(UsbStatus.Stall, endpoint));
    }

    private void StopAllIsoStreams(bool reportStall)
    {
        byte[] endpoints;
        lock (_isoStreams)
            endpoints = _isoStreams.Keys.ToArray();
        foreach (var ep in endpoints)
            StopIsoStream(ep, reportStall);
    }

    // ------------------------------------------------------------------ IN

    private async Task IsoInLoopAsync(HostIsoStream stream)
    {
        var size = stream.PacketSize;
        var packets = Enumerable.Range(0, stream.PacketsPerTransfer).Select(i => new UsbIsoPacket(i * size, size)).ToArray();
        var queue = new Queue<(Task<UsbIsoTransferResult> Transfer, byte[] Buffer)>();
        var token = stream.StopToken;
        long nextId = 0;
        try
        {
            for (var i = 0; i < stream.Transfers; i++)
                queue.Enqueue(SubmitIsoIn(stream, new byte[packets.Length * size], packets));
            while (!token.IsCancellationRequested)
            {
                var (transfer, buffer) = queue.Dequeue();
                var result = await transfer;
                if (token.IsCancellationRequested)
                    return;
                if (result.Status == UsbStatus.Success)
                {
                    stream.Recovered = false;
                    for (var i = 0; i < packets.Length; i++)
                    {
                        var p = i < result.Packets.Count ? result.Packets[i] : new UsbIsoPacketResult(UsbStatus.IoError, 0);
                        var length = p.Status == UsbStatus.Success ? Math.Clamp(p.ActualLength, 0, size) : 0;
                        // Like usbredirhost, a dropped packet still uses up its id: the ids count what the device produced.
                        var id = (ulong)nextId++;
                        if (CanSendIsoPacket(stream))
                        {
                            TrySend(id, new IsoPacketHeader(stream.Endpoint, p.Status, (ushort)length), buffer.AsSpan(i * size, length));
                            Interlocked.Increment(ref stream.Moved);
                        }
                        else
                        {
                            Interlocked.Increment(ref _isoInDropped);
                            Interlocked.Increment(ref stream.Dropped);
                        }
                    }
                    queue.Enqueue(SubmitIsoIn(stream, buffer, packets));
                    continue;
                }
                if (Device.Gone.IsCancellationRequested)
                {
                    ReleaseDevice("the device went away");
                    return;
                }
                // The stream died. Let the other transfers finish (a halt fails them too), clear the halt once, and start
                // over with ids from 0; if it dies again before a transfer succeeds, report it.
                var buffers = new List<byte[]> { buffer };
                while (queue.TryDequeue(out var rest))
                {
                    await rest.Transfer.ContinueWith(_ => { }, TaskScheduler.Default);
                    buffers.Add(rest.Buffer);
                }
                if (token.IsCancellationRequested)
                    return;
                if (Device.Gone.IsCancellationRequested) // unplugged while the transfers failed
                {
                    ReleaseDevice("the device went away");
                    return;
                }
                if (!stream.Recovered && await Device.ClearHaltAsync(stream.Endpoint, token) == UsbStatus.Success && !token.IsCancellationRequested)
                {
                    Log.Warning($"iso stream on endpoint 0x{stream.Endpoint:x2} failed ({result.Status}); cleared the halt and restarted it");
                    stream.Recovered = true;
                    nextId = 0;
                    foreach (var b in buffers)
                        queue.Enqueue(SubmitIsoIn(stream, b, packets));
                    continue;
                }
                Log.Error($"iso stream on endpoint 0x{stream.Endpoint:x2} stopped: {result.Status}");
                StopIsoStream(stream.Endpoint, reportStall: true, only: stream);
                return;
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            Log.Error($"iso stream on endpoint 0x{stream.Endpoint:x2} failed: {e.Message}");
            StopIsoStream(stream.Endpoint, reportStall: true, only: stream);
        }
        finally
        {
            TryCancel(stream.Stop);
            foreach (var (transfer, _) in queue)
                await transfer.ContinueWith(_ => { }, TaskScheduler.Default); // let the device finish with the buffers
            stream.Stop.Dispose();
        }
    }

    private (Task<UsbIsoTransferResult>, byte[]) SubmitIsoIn(HostIsoStream stream, byte[] buffer, UsbIsoPacket[] packets) =>
        (Device.IsoTransferAsync(stream.Endpoint, buffer, packets, stream.StopToken), buffer);

    /// <summary>
    /// usbredirhost's two drop rules for stream data: more than <see cref="DropThresholdPackets"/> packets queued, or for iso
    /// the byte thresholds, which start dropping at 3 × the ring's size queued and stop once below half of it.
    /// One warning per endpoint each time dropping starts.
    /// </summary>
    private bool CanSendIsoPacket(HostIsoStream stream)
    {
        var queue = Connection.Outgoing;
        var bytes = queue.QueuedBytes;
        if (stream.Dropping && bytes < stream.ReferenceBytes / 2)
            stream.Dropping = false;
        else if (!stream.Dropping && bytes >= 3 * stream.ReferenceBytes)
            stream.Dropping = true;
        if (stream.Dropping || queue.QueuedChunks > DropThresholdPackets)
        {
            if (!stream.DropWarned)
                Log.Warning($"the peer is not keeping up: dropping iso packets from endpoint 0x{stream.Endpoint:x2} ({bytes} bytes queued)");
            stream.DropWarned = true;
            return false;
        }
        stream.DropWarned = false;
        return true;
    }

    // ------------------------------------------------------------------ OUT

    /// <summary>An iso_packet from the guest: OUT data for a started stream.</summary>
    private void ReceiveIsoPacket(UsbRedirEvent packet)
    {
        var h = packet.IsoPacket;
        var endpoint = h.Endpoint;
        var data = packet.Payload.Span;
        if (!IsConnected)
        {
            RefuseIsoPacket(packet.Id, endpoint, UsbStatus.IoError, "the device is disconnected");
            return;
        }
        if (_layout.EndpointType[DeviceLayout.EndpointIndex(endpoint)] != UsbEndpointType.Isochronous)
        {
            RefuseIsoPacket(packet.Id, endpoint, UsbStatus.Invalid, "it is not an isochronous endpoint");
            return;
        }
        HostIsoStream? stream;
        lock (_isoStreams)
            _isoStreams.TryGetValue(endpoint, out stream);
        if (stream?.Out is not { } buffer)
        {
            RefuseIsoPacket(packet.Id, endpoint, UsbStatus.Invalid, "no iso stream is started on it");
            return;
        }
        if (data.Length > stream.PacketSize)
        {
            RefuseIsoPacket(packet.Id, endpoint, UsbStatus.Invalid, $"{data.Length} bytes exceed its max packet size {stream.PacketSize}");
            return;
        }
        var submit = new List<IsoOutBuffer.Transfer>(1);
        IsoOutOutcome outcome;
        lock (stream.Gate)
        {
            outcome = buffer.Add(packet.Id, data, submit);
            foreach (var t in submit)
                t.Generation = stream.Generation;
        }
        Interlocked.Increment(ref stream.Moved);
        if (outcome != IsoOutOutcome.Buffered)
        {
            Interlocked.Increment(ref _isoOutDropped);
            Interlocked.Increment(ref stream.Dropped);
            if (outcome == IsoOutOutcome.Overflow && !stream.OverflowWarned)
                Log.Warning($"iso OUT on endpoint 0x{endpoint:x2}: the peer sends faster than the device plays; dropping packets to get back to half the buffer");
            stream.OverflowWarned = true;
        }
        foreach (var t in submit)
            _ = RunIsoOutAsync(stream, buffer, t);
    }

    /// <summary>
    /// Answers an unusable iso_packet with a stream status, as usbredirhost does, but only while the peer reads its replies
    /// (a hostile peer streaming packets it never reads the answers to must not grow the send queue), and logs it once per endpoint.
    /// </summary>
    private void RefuseIsoPacket(ulong id, byte endpoint, UsbStatus status, string why)
    {
        bool first;
        lock (_isoStreams)
            first = _isoComplained.Add(endpoint);
        if (first)
            Log.Warning($"iso_packet on endpoint 0x{endpoint:x2} refused ({status}): {why}; further ones are refused without a log entry");
        if (Connection.Outgoing.QueuedChunks <= DropThresholdPackets)
            SendStreamStatus(id, endpoint, status);
    }

    private async Task RunIsoOutAsync(HostIsoStream stream, IsoOutBuffer buffer, IsoOutBuffer.Transfer transfer)
    {
        UsbIsoTransferResult result;
        var packets = transfer.Packets();
        try
        {
            result = await Device.IsoTransferAsync(stream.Endpoint, transfer.Buffer, packets, stream.StopToken);
        }
        catch (Exception e)
        {
            Log.Error($"iso OUT transfer on endpoint 0x{stream.Endpoint:x2} failed: {e.Message}");
            result = UsbIsoTransferResult.Failed(UsbStatus.IoError, packets.Length);
        }
        bool underflow, restart = false, stale;
        lock (stream.Gate)
        {
            underflow = buffer.Completed(transfer);
            stale = transfer.Generation != stream.Generation;
            if (result.Status == UsbStatus.Success && !stale)
                stream.Recovered = false;
            else if (result.Status != UsbStatus.Success && !stale && !stream.StopToken.IsCancellationRequested && !stream.Recovered)
            {
                stream.Recovered = restart = true;
                stream.Generation++;
            }
        }
        if (stream.StopToken.IsCancellationRequested)
            return;
        if (underflow)
            Log.Debug($"iso OUT on endpoint 0x{stream.Endpoint:x2} ran dry; buffering half the ring again before playing on");
        if (result.Status == UsbStatus.Success)
        {
            // usbredirhost reports OUT errors per transfer, not per packet: the first failed packet's status stands for it.
            var failed = result.Packets.FirstOrDefault(p => p.Status != UsbStatus.Success);
            if (failed.Status != UsbStatus.Success)
                TrySend(transfer.FirstId, new IsoStreamStatusHeader(failed.Status, stream.Endpoint));
            return;
        }
        if (Device.Gone.IsCancellationRequested)
        {
            ReleaseDevice("the device went away");
            return;
        }
        if (stale)
            return; // failed with the transfer that already triggered the restart
        if (restart && await Device.ClearHaltAsync(stream.Endpoint, stream.StopToken) == UsbStatus.Success)
        {
            Log.Warning($"iso OUT transfer on endpoint 0x{stream.Endpoint:x2} failed ({result.Status}); cleared the halt and played on");
            return;
        }
        if (stream.StopToken.IsCancellationRequested)
            return;
        Log.Error($"iso stream on endpoint 0x{stream.Endpoint:x2} stopped: {result.Status}");
        StopIsoStream(stream.Endpoint, reportStall: true, only: stream);
    }
}
