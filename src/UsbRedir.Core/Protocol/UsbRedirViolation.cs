namespace UsbRedir.Protocol;

/// <summary>The protocol rule a packet broke (received or about to be sent).</summary>
public enum UsbRedirViolation
{
    /// <summary>The type number is not defined by the protocol (28–99, above 104).</summary>
    UnknownPacketType,
    /// <summary>The type is defined but may not travel in this direction (e.g. a usb-host receiving device_connect).</summary>
    WrongDirection,
    /// <summary>The main header <c>length</c> exceeds <see cref="UsbRedirLimits.MaxPacketSize"/>.</summary>
    PacketTooLarge,
    /// <summary>The main header <c>length</c> is smaller than the type-specific header.</summary>
    LengthShorterThanHeader,
    /// <summary>The packet carries bytes after its type-specific header but its type allows no payload.</summary>
    UnexpectedExtraData,
    /// <summary>interface_info says more than 32 interfaces.</summary>
    InterfaceCountTooLarge,
    /// <summary>The endpoint must be an IN endpoint (bit 7 set) for this packet type.</summary>
    EndpointNotInput,
    /// <summary>A permission capability (filter, device_disconnect_ack, bulk_receiving) is missing on the side that must have it.</summary>
    MissingCapability,
    /// <summary>filter_filter has no payload.</summary>
    FilterEmpty,
    /// <summary>filter_filter's payload does not end with a NUL byte.</summary>
    FilterNotTerminated,
    /// <summary>A bulk / buffered bulk length or bytes_per_transfer exceeds 128 MiB.</summary>
    BulkLengthTooLarge,
    /// <summary>A bulk length above 65,535 was to be sent but 32-bit bulk lengths are not negotiated (C would silently truncate it).</summary>
    BulkLengthNeedsCapability,
    /// <summary>A data packet's payload size differs from the length in its header.</summary>
    PayloadLengthMismatch,
    /// <summary>A data packet carries payload in the direction where it must carry none.</summary>
    UnexpectedPayload,
    /// <summary>An iso, interrupt or buffered bulk packet travels in a direction its endpoint does not allow.</summary>
    DataWrongDirection,
    /// <summary>A second hello arrived; it was ignored.</summary>
    DuplicateHello,
    /// <summary>The peer advertised bulk_streams without ep_info_max_packet_size; bulk_streams was cleared.</summary>
    InconsistentPeerCapabilities,
    /// <summary>A packet queued before the peer's hello broke a rule once the peer's capabilities were known; it was dropped.</summary>
    QueuedPacketDropped,
}
