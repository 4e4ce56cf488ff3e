namespace UsbRedir.Protocol;

/// <summary>
/// A type-specific packet header that <see cref="UsbRedirCodec.Send{THeader}(ulong, in THeader, ReadOnlySpan{byte})"/> can encode.
/// Implemented by the header records of this namespace; the codec decides the wire size from the negotiated capabilities.
/// </summary>
public interface IUsbRedirHeader
{
    /// <summary>The packet type this header belongs to.</summary>
    UsbRedirPacketType PacketType { get; }

    /// <summary>
    /// Writes the header little-endian into <paramref name="destination"/>, whose length is the negotiated wire size
    /// (e.g. 8 or 10 bytes for device_connect); optional trailing fields are written only when they fit.
    /// </summary>
    void WriteTo(Span<byte> destination);
}
