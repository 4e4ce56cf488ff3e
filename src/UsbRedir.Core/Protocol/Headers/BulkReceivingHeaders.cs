using System.Buffers.Binary;
using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>start_bulk_receiving (type 25, usb-guest → usb-host, 10 bytes). Needs cap BulkReceiving, an IN endpoint and ≤ 128 MiB per transfer.</summary>
/// <param name="StreamId">Bulk stream id (0 = none).</param>
/// <param name="BytesPerTransfer">Size of each transfer (a multiple of max_packet_size).</param>
/// <param name="Endpoint">Endpoint address (bit 7 set).</param>
/// <param name="TransferCount">Transfers in flight (1–16).</param>
public readonly record struct StartBulkReceivingHeader(uint StreamId, uint BytesPerTransfer, byte Endpoint, byte TransferCount) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.StartBulkReceiving;
    /// <summary>Decodes the header.</summary>
    public static StartBulkReceivingHeader Read(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), BinaryPrimitives.ReadUInt32LittleEndian(s[4..]), s[8], s[9]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(d, StreamId);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], BytesPerTransfer);
        d[8] = Endpoint; d[9] = TransferCount;
    }
}

/// <summary>stop_bulk_receiving (type 26, usb-guest → usb-host, 5 bytes). Needs cap BulkReceiving and an IN endpoint.</summary>
/// <param name="StreamId">Bulk stream id.</param>
/// <param name="Endpoint">Endpoint address (bit 7 set).</param>
public readonly record struct StopBulkReceivingHeader(uint StreamId, byte Endpoint) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.StopBulkReceiving;
    /// <summary>Decodes the header.</summary>
    public static StopBulkReceivingHeader Read(ReadOnlySpan<byte> s) => new(BinaryPrimitives.ReadUInt32LittleEndian(s), s[4]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { BinaryPrimitives.WriteUInt32LittleEndian(d, StreamId); d[4] = Endpoint; }
}

/// <summary>bulk_receiving_status (type 27, usb-host → usb-guest, 6 bytes). Needs cap BulkReceiving and an IN endpoint.</summary>
/// <param name="StreamId">Bulk stream id.</param>
/// <param name="Endpoint">Endpoint address (bit 7 set).</param>
/// <param name="Status">Result (stall when the stream died).</param>
public readonly record struct BulkReceivingStatusHeader(uint StreamId, byte Endpoint, UsbStatus Status) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.BulkReceivingStatus;
    /// <summary>Decodes the header.</summary>
    public static BulkReceivingStatusHeader Read(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), s[4], (UsbStatus)s[5]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { BinaryPrimitives.WriteUInt32LittleEndian(d, StreamId); d[4] = Endpoint; d[5] = (byte)Status; }
}
