namespace UsbRedir.Controllers.Urbs;

/// <summary>One packet of an isochronous URB: where its data sits in the URB's buffer and how long it may be.</summary>
public readonly record struct IsoPacket(int Offset, int Length);

/// <summary>How one packet of an isochronous URB ended.</summary>
public readonly record struct IsoPacketResult(UrbStatus Status, int ActualLength);
