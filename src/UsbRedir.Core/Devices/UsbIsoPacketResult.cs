namespace UsbRedir.Devices;

/// <summary>How one packet of an isochronous transfer ended; IN data is at the packet's offset, <see cref="ActualLength"/> bytes.</summary>
public readonly record struct UsbIsoPacketResult(UsbStatus Status, int ActualLength);
