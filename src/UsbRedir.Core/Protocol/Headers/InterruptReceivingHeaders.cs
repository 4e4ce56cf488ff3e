using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>start_interrupt_receiving (type 15, usb-guest → usb-host, 1 byte). The endpoint must be IN.</summary>
/// <param name="Endpoint">Endpoint address (bit 7 set).</param>
public readonly record struct StartInterruptReceivingHeader(byte Endpoint) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.StartInterruptReceiving;
    /// <summary>Decodes the header.</summary>
    public static StartInterruptReceivingHeader Read(ReadOnlySpan<byte> s) => new(s[0]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) => d[0] = Endpoint;
}

/// <summary>stop_interrupt_receiving (type 16, usb-guest → usb-host, 1 byte). The endpoint must be IN.</summary>
/// <param name="Endpoint">Endpoint address (bit 7 set).</param>
public readonly record struct StopInterruptReceivingHeader(byte Endpoint) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.StopInterruptReceiving;
    /// <summary>Decodes the header.</summary>
    public static StopInterruptReceivingHeader Read(ReadOnlySpan<byte> s) => new(s[0]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) => d[0] = Endpoint;
}

/// <summary>interrupt_receiving_status (type 17, usb-host → usb-guest, 2 bytes). The endpoint must be IN.</summary>
/// <param name="Status">Result.</param>
/// <param name="Endpoint">Endpoint address (bit 7 set).</param>
public readonly record struct InterruptReceivingStatusHeader(UsbStatus Status, byte Endpoint) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.InterruptReceivingStatus;
    /// <summary>Decodes the header.</summary>
    public static InterruptReceivingStatusHeader Read(ReadOnlySpan<byte> s) => new((UsbStatus)s[0], s[1]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = (byte)Status; d[1] = Endpoint; }
}
