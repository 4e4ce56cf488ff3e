namespace UsbRedir.Protocol;

/// <summary>The C protocol names of packet types (e.g. "bulk_packet"), used in messages and the canonical text form.</summary>
public static class PacketNames
{
    private static readonly string[] ControlNames =
    [
        "hello", "device_connect", "device_disconnect", "reset", "interface_info", "ep_info",
        "set_configuration", "get_configuration", "configuration_status", "set_alt_setting", "get_alt_setting",
        "alt_setting_status", "start_iso_stream", "stop_iso_stream", "iso_stream_status",
        "start_interrupt_receiving", "stop_interrupt_receiving", "interrupt_receiving_status",
        "alloc_bulk_streams", "free_bulk_streams", "bulk_streams_status", "cancel_data_packet",
        "filter_reject", "filter_filter", "device_disconnect_ack", "start_bulk_receiving",
        "stop_bulk_receiving", "bulk_receiving_status",
    ];

    private static readonly string[] DataNames =
        ["control_packet", "bulk_packet", "iso_packet", "interrupt_packet", "buffered_bulk_packet"];

    /// <summary>The protocol name, or "unknown type N" for undefined numbers.</summary>
    public static string Of(UsbRedirPacketType type)
    {
        var n = (uint)type;
        if (n < ControlNames.Length) return ControlNames[n];
        if (n is >= 100 and <= 104) return DataNames[n - 100];
        return $"unknown type {n}";
    }

    /// <summary>Parses a protocol name back to its type; false for unknown names.</summary>
    public static bool TryParse(string name, out UsbRedirPacketType type)
    {
        var i = Array.IndexOf(ControlNames, name);
        if (i >= 0) { type = (UsbRedirPacketType)i; return true; }
        i = Array.IndexOf(DataNames, name);
        if (i >= 0) { type = (UsbRedirPacketType)(100 + i); return true; }
        type = default;
        return false;
    }
}
