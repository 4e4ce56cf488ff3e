using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>start_iso_stream (type 12, usb-guest → usb-host, 3 bytes).</summary>
/// <param name="Endpoint">Endpoint address.</param>
/// <param name="PacketsPerUrb">Iso packets per transfer (1–32).</param>
/// <param name="UrbCount">Transfers in flight (1–16).</param>
public readonly record struct StartIsoStreamHeader(byte Endpoint, byte PacketsPerUrb, byte UrbCount) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.StartIsoStream;
    /// <summary>Decodes the header.</summary>
    public static StartIsoStreamHeader Read(ReadOnlySpan<byte> s) => new(s[0], s[1], s[2]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = Endpoint; d[1] = PacketsPerUrb; d[2] = UrbCount; }
}

/// <summary>stop_iso_stream (type 13, usb-guest → usb-host, 1 byte).</summary>
/// <param name="Endpoint">Endpoint address.</param>
public readonly record struct StopIsoStreamHeader(byte Endpoint) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.StopIsoStream;
    /// <summary>Decodes the header.</summary>
    public static StopIsoStreamHeader Read(ReadOnlySpan<byte> s) => new(s[0]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) => d[0] = Endpoint;
}

/// <summary>iso_stream_status (type 14, usb-host → usb-guest, 2 bytes).</summary>
/// <param name="Status">Result (stall when the stream died).</param>
/// <param name="Endpoint">Endpoint address.</param>
public readonly record struct IsoStreamStatusHeader(UsbStatus Status, byte Endpoint) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.IsoStreamStatus;
    /// <summary>Decodes the header.</summary>
    public static IsoStreamStatusHeader Read(ReadOnlySpan<byte> s) => new((UsbStatus)s[0], s[1]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = (byte)Status; d[1] = Endpoint; }
}
