namespace UsbRedir.Sessions;

/// <summary>What <see cref="IsoOutBuffer.Add"/> did with a packet.</summary>
internal enum IsoOutOutcome
{
    Buffered,
    /// <summary>Dropped while recovering from an overflow.</summary>
    Dropped,
    /// <summary>Dropped: the ring was full; the following half ring of packets is dropped too.</summary>
    Overflow,
}
