namespace UsbRedir.Controllers.Usbip;

/// <summary>Sizes and limits of the USB/IP URB phase (Linux usbip_common.h, Documentation/usb/usbip_protocol.rst).</summary>
public static class UsbipLimits
{
    /// <summary>Every PDU header is padded to 48 bytes (20-byte basic header + 28 command-specific bytes).</summary>
    public const int HeaderSize = 48;

    /// <summary>Bytes of the basic header: command, seqnum, devid, direction, ep (u32 each).</summary>
    public const int BasicHeaderSize = 20;

    /// <summary>One isochronous packet descriptor: offset, length, actual_length, status (u32 each).</summary>
    public const int IsoPacketDescriptorSize = 16;

    /// <summary>USBIP_MAX_ISO_PACKETS: the stub driver refuses URBs with more packets, so a client never sends them.</summary>
    public const int MaxIsoPackets = 1024;

    /// <summary>
    /// Largest transfer_buffer_length accepted. usbfs caps a whole process at 16 MiB of URB memory by default and
    /// usb-storage sends at most a few hundred KiB per URB; anything beyond 64 MiB is a broken or hostile stream, and
    /// refusing it bounds the memory one PDU can make us allocate.
    /// </summary>
    public const int MaxTransferLength = 64 * 1024 * 1024;

    /// <summary>Highest endpoint number (the ep field carries no direction bit).</summary>
    public const uint MaxEndpointNumber = 15;
}
