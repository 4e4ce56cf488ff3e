using System.Buffers.Binary;
using UsbRedir.Devices;

namespace UsbRedir.Protocol;

/// <summary>
/// device_connect (type 1, usb-host → usb-guest). 10 bytes when both sides have
/// <see cref="UsbRedirCapabilities.ConnectDeviceVersion"/>, else 8 bytes without <see cref="DeviceVersionBcd"/>.
/// </summary>
/// <param name="Speed">Device speed (255 = unknown).</param>
/// <param name="DeviceClass">bDeviceClass.</param>
/// <param name="DeviceSubclass">bDeviceSubClass.</param>
/// <param name="DeviceProtocol">bDeviceProtocol.</param>
/// <param name="VendorId">idVendor.</param>
/// <param name="ProductId">idProduct.</param>
/// <param name="DeviceVersionBcd">bcdDevice; null when received in the 8-byte form (ignored when sent in it).</param>
public readonly record struct DeviceConnectHeader(
    UsbSpeed Speed, byte DeviceClass, byte DeviceSubclass, byte DeviceProtocol,
    ushort VendorId, ushort ProductId, ushort? DeviceVersionBcd) : IUsbRedirHeader
{
    /// <summary>Size without device_version_bcd.</summary>
    public const int ShortSize = 8;
    /// <summary>Size with device_version_bcd.</summary>
    public const int FullSize = 10;

    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.DeviceConnect;

    /// <summary>Decodes the 8- or 10-byte form (the span length tells which).</summary>
    public static DeviceConnectHeader Read(ReadOnlySpan<byte> s) => new(
        (UsbSpeed)s[0], s[1], s[2], s[3],
        BinaryPrimitives.ReadUInt16LittleEndian(s[4..]), BinaryPrimitives.ReadUInt16LittleEndian(s[6..]),
        s.Length >= FullSize ? BinaryPrimitives.ReadUInt16LittleEndian(s[8..]) : null);

    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        d[0] = (byte)Speed; d[1] = DeviceClass; d[2] = DeviceSubclass; d[3] = DeviceProtocol;
        BinaryPrimitives.WriteUInt16LittleEndian(d[4..], VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], ProductId);
        if (d.Length >= FullSize) BinaryPrimitives.WriteUInt16LittleEndian(d[8..], DeviceVersionBcd ?? 0);
    }
}
