namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// One isochronous packet descriptor. In CMD_SUBMIT, <see cref="Offset"/> and <see cref="Length"/> place the packet in
/// the transfer buffer; in RET_SUBMIT, <see cref="ActualLength"/> and <see cref="Status"/> (a negative Linux errno or 0)
/// report it. IN data in RET_SUBMIT is packed: the packets' actual bytes back to back, no gaps.
/// </summary>
public readonly record struct UsbipIsoPacket(uint Offset, uint Length, uint ActualLength, int Status);
