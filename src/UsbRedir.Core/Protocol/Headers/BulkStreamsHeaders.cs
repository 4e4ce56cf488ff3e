using System.Buffers.Binary;
using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>alloc_bulk_streams (type 18, usb-guest → usb-host, 8 bytes).</summary>
/// <param name="Endpoints">Bitmask of ep_info indices.</param>
/// <param name="StreamCount">Streams to allocate.</param>
public readonly record struct AllocBulkStreamsHeader(uint Endpoints, uint StreamCount) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.AllocBulkStreams;
    /// <summary>Decodes the header.</summary>
    public static AllocBulkStreamsHeader Read(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), BinaryPrimitives.ReadUInt32LittleEndian(s[4..]));
    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(d, Endpoints);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], StreamCount);
    }
}

/// <summary>free_bulk_streams (type 19, usb-guest → usb-host, 4 bytes).</summary>
/// <param name="Endpoints">Bitmask of ep_info indices.</param>
public readonly record struct FreeBulkStreamsHeader(uint Endpoints) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.FreeBulkStreams;
    /// <summary>Decodes the header.</summary>
    public static FreeBulkStreamsHeader Read(ReadOnlySpan<byte> s) => new(BinaryPrimitives.ReadUInt32LittleEndian(s));
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) => BinaryPrimitives.WriteUInt32LittleEndian(d, Endpoints);
}

/// <summary>bulk_streams_status (type 20, usb-host → usb-guest, 9 bytes).</summary>
/// <param name="Endpoints">Bitmask echoed from the request.</param>
/// <param name="StreamCount">Streams allocated (0 after free).</param>
/// <param name="Status">Result.</param>
public readonly record struct BulkStreamsStatusHeader(uint Endpoints, uint StreamCount, UsbStatus Status) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.BulkStreamsStatus;
    /// <summary>Decodes the header.</summary>
    public static BulkStreamsStatusHeader Read(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), BinaryPrimitives.ReadUInt32LittleEndian(s[4..]), (UsbStatus)s[8]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(d, Endpoints);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], StreamCount);
        d[8] = (byte)Status;
    }
}
