using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>set_alt_setting (type 9, usb-guest → usb-host, 2 bytes).</summary>
/// <param name="Interface">bInterfaceNumber.</param>
/// <param name="Alt">bAlternateSetting to select.</param>
public readonly record struct SetAltSettingHeader(byte Interface, byte Alt) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.SetAltSetting;
    /// <summary>Decodes the header.</summary>
    public static SetAltSettingHeader Read(ReadOnlySpan<byte> s) => new(s[0], s[1]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = Interface; d[1] = Alt; }
}

/// <summary>get_alt_setting (type 10, usb-guest → usb-host, 1 byte).</summary>
/// <param name="Interface">bInterfaceNumber.</param>
public readonly record struct GetAltSettingHeader(byte Interface) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.GetAltSetting;
    /// <summary>Decodes the header.</summary>
    public static GetAltSettingHeader Read(ReadOnlySpan<byte> s) => new(s[0]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) => d[0] = Interface;
}

/// <summary>alt_setting_status (type 11, usb-host → usb-guest, 3 bytes).</summary>
/// <param name="Status">Result.</param>
/// <param name="Interface">bInterfaceNumber.</param>
/// <param name="Alt">Current alt setting (255 when the interface is unknown).</param>
public readonly record struct AltSettingStatusHeader(UsbStatus Status, byte Interface, byte Alt) : IUsbRedirHeader
{
    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.AltSettingStatus;
    /// <summary>Decodes the header.</summary>
    public static AltSettingStatusHeader Read(ReadOnlySpan<byte> s) => new((UsbStatus)s[0], s[1], s[2]);
    /// <inheritdoc />
    public void WriteTo(Span<byte> d) { d[0] = (byte)Status; d[1] = Interface; d[2] = Alt; }
}
