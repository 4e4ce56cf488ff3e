using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// USB 3 bulk streams on the far device: alloc/free_bulk_streams answered by bulk_streams_status, and bulk packets carrying a
// stream id. What the connection cannot carry is refused here, with the reason logged, rather than sent for the peer's
// parser to reject: streams when the peer lacks cap 0, endpoints whose ep_info offers none, ids beyond what ep_info offers.
public sealed partial class RemoteUsbDevice
{
    public async Task<UsbStreamsResult> AllocateStreamsAsync(IReadOnlyList<byte> endpoints, int streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (Gone.IsCancellationRequested)
            return new(UsbStatus.IoError, 0);
        var why = CannotUseStreams(endpoints, out var mask, out var offered);
        if (streams < 1)
            why ??= $"{streams} streams were asked for";
        if (why is not null)
        {
            _session.Log.Error($"{Description}: cannot allocate bulk streams: {why}");
            return new(UsbStatus.Invalid, 0);
        }
        // Like the xHCI driver, grant what the endpoints offer rather than fail: the host would answer ioerror for more.
        var granted = Math.Min(streams, offered);
        var header = new AllocBulkStreamsHeader(mask, (uint)granted);
        var reply = await _session.RequestAsync(this, id => _session.SendData(id, header, default),
            RequestDescription.Status(UsbRedirPacketType.BulkStreamsStatus, RequestTimeout), cancellationToken);
        return reply.Status == UsbStatus.Success ? new(UsbStatus.Success, granted) : new(reply.Status, 0);
    }

    public async Task<UsbStatus> FreeStreamsAsync(IReadOnlyList<byte> endpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (Gone.IsCancellationRequested)
            return UsbStatus.IoError;
        if (CannotUseStreams(endpoints, out var mask, out _) is { } why)
        {
            _session.Log.Error($"{Description}: cannot free bulk streams: {why}");
            return UsbStatus.Invalid;
        }
        var header = new FreeBulkStreamsHeader(mask);
        var reply = await _session.RequestAsync(this, id => _session.SendData(id, header, default),
            RequestDescription.Status(UsbRedirPacketType.BulkStreamsStatus, RequestTimeout), cancellationToken);
        return reply.Status;
    }

    public Task<UsbTransferResult> StreamTransferAsync(byte endpoint, uint streamId, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (streamId == 0)
            return TransferAsync(endpoint, buffer, cancellationToken);
        if (Gone.IsCancellationRequested)
            return Task.FromResult(UsbTransferResult.Failed(UsbStatus.IoError));
        if (CannotUseStreams([endpoint], out _, out var offered) is { } why)
            return Refuse($"no stream transfer on endpoint 0x{endpoint:x2}: {why}");
        if (streamId > (uint)offered)
            return Refuse($"stream {streamId} does not exist on endpoint 0x{endpoint:x2}, which offers {offered}");
        return BulkAsync(endpoint, streamId, buffer, cancellationToken);
    }

    /// <summary>A bulk packet on <paramref name="streamId"/> (0: none), within what the negotiated bulk length can say.</summary>
    private Task<UsbTransferResult> BulkAsync(byte endpoint, uint streamId, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length > ushort.MaxValue && !_session.HasLongBulkLengths)
            return Refuse($"a {buffer.Length}-byte bulk transfer needs 32-bit bulk lengths, which the peer does not support (at most 65535 bytes)");
        if (buffer.Length > UsbRedirLimits.MaxBulkTransferSize)
            return Refuse($"a {buffer.Length}-byte bulk transfer exceeds usbredir's {UsbRedirLimits.MaxBulkTransferSize} bytes");
        var bulk = new BulkPacketHeader(endpoint, UsbStatus.Success, (uint)buffer.Length, streamId);
        return DataAsync(bulk, UsbRedirPacketType.BulkPacket, buffer, (endpoint & 0x80) != 0, cancellationToken);
    }

    /// <summary>
    /// Why streams cannot be used on <paramref name="endpoints"/> over this connection, or null with their ep_info bitmask and
    /// the fewest streams any of them offers.
    /// </summary>
    private string? CannotUseStreams(IReadOnlyList<byte> endpoints, out uint mask, out int offered)
    {
        mask = 0;
        offered = int.MaxValue;
        if (!_session.HasBulkStreams)
            return "the peer does not support bulk streams (usbredir capability bulk_streams)";
        if (endpoints.Count == 0)
            return "no endpoints were given";
        var layout = Snapshot();
        foreach (var endpoint in endpoints)
        {
            var index = DeviceLayout.EndpointIndex(endpoint);
            var max = layout.EndpointMaxStreams[index];
            if (layout.EndpointType[index] != UsbEndpointType.Bulk || max == 0)
                return $"endpoint 0x{endpoint:x2} is not a bulk endpoint with streams in the active configuration (ep_info)";
            mask |= 1u << index;
            offered = (int)Math.Min(offered, Math.Min(max, int.MaxValue));
        }
        return null;
    }
}
