using UsbRedir.Devices;

namespace UsbRedir.Controllers.Urbs;

/// <summary>
/// How a URB ended. <see cref="ActualLength"/> never exceeds the URB's buffer; for IN URBs the data is in the buffer's
/// first ActualLength bytes (isochronous: at each packet's offset, up to the end of the last packet's data).
/// </summary>
public readonly record struct UrbResult(UrbStatus Status, int ActualLength, IReadOnlyList<IsoPacketResult>? IsoPackets = null)
{
    /// <summary>The negative errno (or 0) to give back to the kernel.</summary>
    public int LinuxStatus => UrbStatusCodes.ToLinuxErrno(Status);

    public static UrbResult Failed(UrbStatus status) => new(status, 0);

    /// <summary>An isochronous URB of <paramref name="packets"/> packets that failed as a whole: no packet was transferred.</summary>
    public static UrbResult FailedIso(UrbStatus status, int packets) =>
        new(status, 0, Enumerable.Repeat(IsoPacketResult.NotTransferred, packets).ToArray());

    /// <summary>
    /// Packet <paramref name="index"/> of an isochronous URB as a controller gives it back: what the result says, its length
    /// clamped to what <paramref name="packet"/> asked for; a packet the result has no entry for was not transferred.
    /// </summary>
    public IsoPacketResult IsoPacketAt(int index, UsbIsoPacket packet)
    {
        var r = IsoPackets is { } results && index < results.Count ? results[index] : IsoPacketResult.NotTransferred;
        return r with { ActualLength = Math.Clamp(r.ActualLength, 0, packet.Length) };
    }
}
