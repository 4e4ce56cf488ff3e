namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// transfer_flags of CMD_SUBMIT. Since Linux 5.x these are the wire values USBIP_URB_* (usbip_common.h), converted
/// from the kernel's URB_* flags by the sender, so they are stable across kernel versions.
/// </summary>
[Flags]
public enum UsbipTransferFlags : uint
{
    None = 0,
    /// <summary>A short IN transfer is an error (the URB completes with -EREMOTEIO).</summary>
    ShortNotOk = 0x0001,
    /// <summary>Isochronous: start at the next possible frame, ignoring start_frame.</summary>
    IsoAsap = 0x0002,
    NoTransferDmaMap = 0x0004,
    /// <summary>Terminate an OUT transfer whose length is a multiple of wMaxPacketSize with a zero-length packet.</summary>
    ZeroPacket = 0x0040,
    NoInterrupt = 0x0080,
    FreeBuffer = 0x0100,
    DirectionIn = 0x0200,
}
