namespace UsbRedir.Devices;

/// <summary>
/// One packet of an isochronous transfer: where its data sits in the transfer's buffer and how long it may be.
/// Packets may leave gaps (a Linux URB places IN packet i at i × packet size) but never overlap.
/// </summary>
public readonly record struct UsbIsoPacket(int Offset, int Length);
