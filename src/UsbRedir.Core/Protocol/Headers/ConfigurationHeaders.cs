using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>set_configuration (type 6, usb-guest → usb-host, 1 byte).</summary>
/// <param name="Configuration">bConfigurationValue to select.</param>
public readonly record struct SetConfigurationHeader(byte Configuration) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.SetConfiguration;
    /// <summary>Decodes the header.</summary>
    public static SetConfigurationHeader Read(ReadOnlySpan<byte> s) => new(s[0]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) => d[0] = Configuration;
}

/// <summary>configuration_status (type 8, usb-host → usb-guest, 2 bytes): reply to set/get_configuration.</summary>
/// <param name="Status">Result.</param>
/// <param name="Configuration">Active configuration value (0 when unconfigured).</param>
public readonly record struct ConfigurationStatusHeader(UsbStatus Status, byte Configuration) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.ConfigurationStatus;
    /// <summary>Decodes the header.</summary>
    public static ConfigurationStatusHeader Read(ReadOnlySpan<byte> s) => new((UsbStatus)s[0], s[1]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = (byte)Status; d[1] = Configuration; }
}
