namespace UsbRedir.Protocol;

/// <summary>
/// Thrown by the codec's Send methods when the packet would break a protocol rule; nothing is written.
/// The libusbredirparser send functions refuse the same packets.
/// </summary>
public sealed class UsbRedirProtocolException : UsbRedirException
{
    /// <summary>Creates the exception for <paramref name="packetType"/> breaking <paramref name="violation"/>.</summary>
    public UsbRedirProtocolException(UsbRedirPacketType packetType, UsbRedirViolation violation, string message)
        : base("UsbRedirInvalidPacket", UsbRedirErrorCategory.InvalidArgument,
            $"Cannot send {PacketNames.Of(packetType)}: {message}",
            "Fix the packet fields, or check the negotiated capabilities (UsbRedirCodec.IsNegotiated/PeerHas) before sending.",
            packetType)
    {
        PacketType = packetType;
        Violation = violation;
    }

    /// <summary>The packet type that was refused.</summary>
    public UsbRedirPacketType PacketType { get; }

    /// <summary>The rule it broke.</summary>
    public UsbRedirViolation Violation { get; }
}
