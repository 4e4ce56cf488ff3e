namespace UsbRedir.Devices.Software;

/// <summary>Run-time state of one endpoint of the active configuration: halt/wedge flags, bulk streams and the transfers waiting on it.</summary>
internal sealed class EndpointState
{
    public EndpointState(UsbEndpointDefinition definition, byte interfaceNumber)
    {
        Definition = definition;
        InterfaceNumber = interfaceNumber;
    }

    public UsbEndpointDefinition Definition { get; }

    public byte InterfaceNumber { get; }

    public bool Halted { get; set; }

    /// <summary>
    /// A wedged endpoint stays halted when the host clears the halt (the request still succeeds). Bulk-only mass
    /// storage needs this: after an invalid CBW both pipes stay stalled until a reset recovery.
    /// </summary>
    public bool Wedged { get; set; }

    public LinkedList<PendingEndpointTransfer> Pending { get; } = new();

    /// <summary>Isochronous transfers scheduled on this endpoint, in bus order (each completes after its last interval).</summary>
    public LinkedList<PendingIsoTransfer> IsoPending { get; } = new();

    /// <summary>The first service interval no scheduled isochronous transfer occupies yet (intervals count from the device's clock start).</summary>
    public long NextIsoInterval { get; set; }

    /// <summary>Bulk streams allocated on the endpoint (ids 1..Streams); 0 when none.</summary>
    public int Streams { get; set; }

    /// <summary>Stream transfers waiting, one FIFO per stream id: streams complete independently of each other.</summary>
    public Dictionary<uint, LinkedList<PendingEndpointTransfer>> StreamPending { get; } = new();
}
