namespace UsbRedir.Controllers.Urbs;

/// <summary>
/// How a URB ended. <see cref="ActualLength"/> never exceeds the URB's buffer; for IN URBs the data is in the buffer's
/// first ActualLength bytes (isochronous: at each packet's offset, up to the end of the last packet's data).
/// </summary>
public readonly record struct UrbResult(UrbStatus Status, int ActualLength, IReadOnlyList<IsoPacketResult>? IsoPackets = null)
{
    /// <summary>The negative errno (or 0) to give back to the kernel.</summary>
    public int LinuxStatus => UrbStatusCodes.ToLinuxErrno(Status);

    /// <summary>Isochronous URBs: how many packets did not succeed.</summary>
    public int IsoErrorCount => IsoPackets?.Count(p => p.Status != UrbStatus.Success) ?? 0;

    public static UrbResult Failed(UrbStatus status) => new(status, 0);
}
