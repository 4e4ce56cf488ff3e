using System.Buffers.Binary;
using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>
/// control_packet (type 100, both directions, 10 bytes). Field order is not USB SETUP order. The guest sends data
/// only for OUT (endpoint 0x00), the host only for IN (endpoint 0x80); <see cref="Length"/> must then equal the payload size.
/// </summary>
/// <param name="Endpoint">0x80 for IN, 0x00 for OUT (must agree with bit 7 of RequestType).</param>
/// <param name="Request">bRequest.</param>
/// <param name="RequestType">bmRequestType.</param>
/// <param name="Status">Result (replies only).</param>
/// <param name="Value">wValue.</param>
/// <param name="Index">wIndex.</param>
/// <param name="Length">wLength requested, or bytes transferred in the reply.</param>
public readonly record struct ControlPacketHeader(
    byte Endpoint, byte Request, byte RequestType, UsbStatus Status, ushort Value, ushort Index, ushort Length) : IUsbRedirHeader
{
    /// <summary>Wire size.</summary>
    public const int Size = 10;
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.ControlPacket;
    /// <summary>Decodes the header.</summary>
    public static ControlPacketHeader Read(ReadOnlySpan<byte> s) => new(s[0], s[1], s[2], (UsbStatus)s[3],
        BinaryPrimitives.ReadUInt16LittleEndian(s[4..]), BinaryPrimitives.ReadUInt16LittleEndian(s[6..]),
        BinaryPrimitives.ReadUInt16LittleEndian(s[8..]));
    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        d[0] = Endpoint; d[1] = Request; d[2] = RequestType; d[3] = (byte)Status;
        BinaryPrimitives.WriteUInt16LittleEndian(d[4..], Value);
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], Index);
        BinaryPrimitives.WriteUInt16LittleEndian(d[8..], Length);
    }
}

/// <summary>
/// bulk_packet (type 101, both directions): 10 bytes when both sides have <see cref="UsbRedirCapabilities.BulkLength32Bit"/>
/// (length up to 128 MiB), else 8 bytes (length ≤ 65,535; larger lengths are refused rather than truncated).
/// </summary>
/// <param name="Endpoint">Endpoint address; bit 7 decides which direction carries data.</param>
/// <param name="Status">Result (replies only).</param>
/// <param name="Length">Combined length (length | length_high &lt;&lt; 16).</param>
/// <param name="StreamId">USB 3 stream id (0 = none).</param>
public readonly record struct BulkPacketHeader(byte Endpoint, UsbStatus Status, uint Length, uint StreamId) : IUsbRedirHeader
{
    /// <summary>Size without length_high.</summary>
    public const int ShortSize = 8;
    /// <summary>Size with length_high.</summary>
    public const int FullSize = 10;
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.BulkPacket;
    /// <summary>Decodes the 8- or 10-byte form; in the 8-byte form the high length bits are 0.</summary>
    public static BulkPacketHeader Read(ReadOnlySpan<byte> s)
    {
        uint length = BinaryPrimitives.ReadUInt16LittleEndian(s[2..]);
        if (s.Length >= FullSize) length |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(s[8..]) << 16;
        return new BulkPacketHeader(s[0], (UsbStatus)s[1], length, BinaryPrimitives.ReadUInt32LittleEndian(s[4..]));
    }
    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        d[0] = Endpoint; d[1] = (byte)Status;
        BinaryPrimitives.WriteUInt16LittleEndian(d[2..], (ushort)Length);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], StreamId);
        if (d.Length >= FullSize) BinaryPrimitives.WriteUInt16LittleEndian(d[8..], (ushort)(Length >> 16));
    }
}

/// <summary>iso_packet (type 102, 4 bytes): OUT data from the guest, IN data from the host; never the other way.</summary>
/// <param name="Endpoint">Endpoint address.</param>
/// <param name="Status">Result.</param>
/// <param name="Length">Payload length.</param>
public readonly record struct IsoPacketHeader(byte Endpoint, UsbStatus Status, ushort Length) : IUsbRedirHeader
{
    /// <summary>Wire size.</summary>
    public const int Size = 4;
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.IsoPacket;
    /// <summary>Decodes the header.</summary>
    public static IsoPacketHeader Read(ReadOnlySpan<byte> s) => new(s[0], (UsbStatus)s[1], BinaryPrimitives.ReadUInt16LittleEndian(s[2..]));
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = Endpoint; d[1] = (byte)Status; BinaryPrimitives.WriteUInt16LittleEndian(d[2..], Length); }
}

/// <summary>interrupt_packet (type 103, 4 bytes): OUT request/completion, or IN data from the host (the guest never sends IN).</summary>
/// <param name="Endpoint">Endpoint address.</param>
/// <param name="Status">Result.</param>
/// <param name="Length">Payload length (or bytes transferred for an OUT completion).</param>
public readonly record struct InterruptPacketHeader(byte Endpoint, UsbStatus Status, ushort Length) : IUsbRedirHeader
{
    /// <summary>Wire size.</summary>
    public const int Size = 4;
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.InterruptPacket;
    /// <summary>Decodes the header.</summary>
    public static InterruptPacketHeader Read(ReadOnlySpan<byte> s) => new(s[0], (UsbStatus)s[1], BinaryPrimitives.ReadUInt16LittleEndian(s[2..]));
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = Endpoint; d[1] = (byte)Status; BinaryPrimitives.WriteUInt16LittleEndian(d[2..], Length); }
}

/// <summary>buffered_bulk_packet (type 104, usb-host → usb-guest, 10 bytes). Needs cap BulkReceiving, an IN endpoint and ≤ 128 MiB.</summary>
/// <param name="StreamId">Bulk stream id.</param>
/// <param name="Length">Payload length.</param>
/// <param name="Endpoint">Endpoint address (bit 7 set).</param>
/// <param name="Status">Result.</param>
public readonly record struct BufferedBulkPacketHeader(uint StreamId, uint Length, byte Endpoint, UsbStatus Status) : IUsbRedirHeader
{
    /// <summary>Wire size.</summary>
    public const int Size = 10;
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.BufferedBulkPacket;
    /// <summary>Decodes the header.</summary>
    public static BufferedBulkPacketHeader Read(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), BinaryPrimitives.ReadUInt32LittleEndian(s[4..]), s[8], (UsbStatus)s[9]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(d, StreamId);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], Length);
        d[8] = Endpoint; d[9] = (byte)Status;
    }
}
