namespace UsbRedir.Protocol;

/// <summary>
/// A received packet (or a queued one) that broke a protocol rule. The codec has already done what the C
/// parser does — skipped the bad packet's <c>length</c> bytes and carried on with the next one — so the
/// caller only decides whether to keep going or close the connection.
/// </summary>
public sealed class UsbRedirProtocolError
{
    /// <summary>Creates an error description.</summary>
    public UsbRedirProtocolError(UsbRedirPacketType packetType, UsbRedirViolation violation, string message, long bytesSkipped)
    {
        PacketType = packetType;
        Violation = violation;
        Message = message;
        BytesSkipped = bytesSkipped;
    }

    /// <summary>The packet's type number as received (may be outside the enum for unknown types).</summary>
    public UsbRedirPacketType PacketType { get; }

    /// <summary>The rule broken.</summary>
    public UsbRedirViolation Violation { get; }

    /// <summary>Human-readable cause, naming the packet type and the offending value.</summary>
    public string Message { get; }

    /// <summary>Bytes of the packet that were discarded (type header + payload); 0 when the packet was just ignored.</summary>
    public long BytesSkipped { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Violation}: {Message}";
}
