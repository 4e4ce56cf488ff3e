namespace UsbRedir.Sessions;

/// <summary>
/// One isochronous stream the usb-host role runs for its peer (<see cref="UsbRedirHostSession"/>, start_iso_stream): its
/// shape, its stop signal, the OUT ring (<see cref="IsoOutBuffer"/>) and the counters its summary logs. The session runs
/// it; this is its state, guarded by <see cref="Gate"/> where noted. The usb-guest role's counterpart is <see cref="GuestIsoStream"/>.
/// </summary>
internal sealed class HostIsoStream
{
    public HostIsoStream(byte endpoint, int packetsPerTransfer, int transfers, int packetSize, CancellationToken sessionEnded)
    {
        Endpoint = endpoint;
        PacketsPerTransfer = packetsPerTransfer;
        Transfers = transfers;
        PacketSize = packetSize;
        Stop = CancellationTokenSource.CreateLinkedTokenSource(sessionEnded);
        StopToken = Stop.Token;
        if ((endpoint & 0x80) == 0)
            Out = new IsoOutBuffer(packetsPerTransfer, transfers, packetSize);
    }

    public byte Endpoint { get; }
    public int PacketsPerTransfer { get; }
    public int Transfers { get; }
    public int PacketSize { get; }
    public CancellationTokenSource Stop { get; }
    // Kept apart from Stop: OUT completions may look at it after the source is disposed.
    public CancellationToken StopToken { get; }
    public IsoOutBuffer? Out { get; }
    public object Gate { get; } = new();

    /// <summary>usbredirhost's reference size: the bytes the whole ring holds.</summary>
    public long ReferenceBytes => (long)PacketsPerTransfer * Transfers * PacketSize;

    // For the summary logged when the stream stops: IN packets sent / OUT packets the peer sent, and those dropped.
    public long Moved;
    public long Dropped;
    public bool Dropping;
    public bool DropWarned;
    public bool OverflowWarned;
    /// <summary>True after a clear-halt restart, until a transfer succeeds: a second death in a row is reported.</summary>
    public bool Recovered;
    /// <summary>OUT: bumped on each restart, so completions of transfers from before it are not taken for new deaths.</summary>
    public int Generation;
}
