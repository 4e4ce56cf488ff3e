namespace UsbRedir.Devices;

/// <summary>
/// Completion of an isochronous transfer. <see cref="Status"/> is the transfer's own outcome (Success even when some
/// packets failed, as on a real bus); each packet has its own status and length, in submission order.
/// </summary>
public sealed record UsbIsoTransferResult(UsbStatus Status, IReadOnlyList<UsbIsoPacketResult> Packets)
{
    /// <summary>A transfer that failed as a whole: every one of its <paramref name="packetCount"/> packets carries <paramref name="status"/> and no data.</summary>
    public static UsbIsoTransferResult Failed(UsbStatus status, int packetCount) =>
        new(status, Enumerable.Repeat(new UsbIsoPacketResult(status, 0), packetCount).ToArray());
}
