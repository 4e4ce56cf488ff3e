namespace UsbRedir.Protocol;

/// <summary>
/// Capability bits of the first hello caps word. Size-changing caps (BulkStreams, ConnectDeviceVersion,
/// EpInfoMaxPacketSize, Ids64Bit, BulkLength32Bit) apply only when both hellos carry them; permission
/// caps (Filter, DeviceDisconnectAck, BulkReceiving) are checked against the peer when sending and
/// against ourselves when receiving, as the C parser does. Unknown bits are kept as they arrive.
/// </summary>
[Flags]
public enum UsbRedirCapabilities : uint
{
    /// <summary>No capability.</summary>
    None = 0,
    /// <summary>Bit 0: USB 3 bulk streams; ep_info gains max_streams. Only valid together with <see cref="EpInfoMaxPacketSize"/>.</summary>
    BulkStreams = 1u << 0,
    /// <summary>Bit 1: device_connect carries device_version_bcd (10 bytes instead of 8).</summary>
    ConnectDeviceVersion = 1u << 1,
    /// <summary>Bit 2: filter_reject and filter_filter are allowed.</summary>
    Filter = 1u << 2,
    /// <summary>Bit 3: device_disconnect_ack is allowed. Always set for a usb-guest codec, like the C parser.</summary>
    DeviceDisconnectAck = 1u << 3,
    /// <summary>Bit 4: ep_info carries max_packet_size (160 bytes instead of 96).</summary>
    EpInfoMaxPacketSize = 1u << 4,
    /// <summary>Bit 5: 16-byte main header with a 64-bit id instead of 12 bytes with 32 bits.</summary>
    Ids64Bit = 1u << 5,
    /// <summary>Bit 6: bulk_packet carries length_high (10 bytes instead of 8), so bulk lengths may exceed 65,535.</summary>
    BulkLength32Bit = 1u << 6,
    /// <summary>Bit 7: start/stop_bulk_receiving, bulk_receiving_status and buffered_bulk_packet are allowed.</summary>
    BulkReceiving = 1u << 7,
    /// <summary>Every capability this protocol version defines (0xFF).</summary>
    All = 0xFF,
}
