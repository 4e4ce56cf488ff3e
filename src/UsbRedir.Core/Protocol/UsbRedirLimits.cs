namespace UsbRedir.Protocol;

/// <summary>Size limits of the usbredir wire format, identical to libusbredirparser's.</summary>
public static class UsbRedirLimits
{
    /// <summary>Largest bulk / buffered bulk length and start_bulk_receiving bytes_per_transfer (128 MiB).</summary>
    public const uint MaxBulkTransferSize = 128u * 1024 * 1024;

    /// <summary>Largest main-header <c>length</c> accepted (128 MiB + 1 KiB); larger packets are skipped.</summary>
    public const uint MaxPacketSize = MaxBulkTransferSize + 1024;

    /// <summary>Main header size before 64-bit ids are negotiated (and always for hello).</summary>
    public const int HeaderSize32 = 12;

    /// <summary>Main header size once both sides advertised <see cref="UsbRedirCapabilities.Ids64Bit"/>.</summary>
    public const int HeaderSize64 = 16;

    /// <summary>Bytes of the hello version field (NUL-padded; at most 63 characters are sent).</summary>
    public const int VersionFieldSize = 64;

    /// <summary>Largest type-specific header (ep_info with max_streams).</summary>
    public const int MaxTypeHeaderSize = 288;

    /// <summary>Most interfaces an interface_info packet can describe.</summary>
    public const int MaxInterfaces = 32;

    /// <summary>Entries in the ep_info arrays (16 OUT + 16 IN endpoints).</summary>
    public const int EndpointCount = 32;
}
