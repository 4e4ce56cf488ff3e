using System.Buffers.Binary;

namespace UsbRedir.Protocol;

/// <summary>
/// interface_info (type 4, usb-host → usb-guest, 132 bytes): the interfaces of the active configuration,
/// indexed by position. Each array holds 32 entries; shorter arrays are zero-padded when sent.
/// </summary>
/// <param name="InterfaceCount">Number of valid entries; more than 32 is a protocol error.</param>
/// <param name="InterfaceNumbers">bInterfaceNumber per position.</param>
/// <param name="InterfaceClasses">bInterfaceClass of the selected alt setting.</param>
/// <param name="InterfaceSubclasses">bInterfaceSubClass of the selected alt setting.</param>
/// <param name="InterfaceProtocols">bInterfaceProtocol of the selected alt setting.</param>
public sealed record InterfaceInfoHeader(
    uint InterfaceCount, byte[] InterfaceNumbers, byte[] InterfaceClasses, byte[] InterfaceSubclasses, byte[] InterfaceProtocols)
    : IUsbRedirHeader
{
    /// <summary>Wire size.</summary>
    public const int Size = 132;

    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.InterfaceInfo;

    /// <summary>Decodes the 132-byte header.</summary>
    public static InterfaceInfoHeader Read(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(s),
        s.Slice(4, 32).ToArray(), s.Slice(36, 32).ToArray(), s.Slice(68, 32).ToArray(), s.Slice(100, 32).ToArray());

    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        d.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d, InterfaceCount);
        Copy(InterfaceNumbers, d.Slice(4, 32));
        Copy(InterfaceClasses, d.Slice(36, 32));
        Copy(InterfaceSubclasses, d.Slice(68, 32));
        Copy(InterfaceProtocols, d.Slice(100, 32));
    }

    private static void Copy(byte[]? src, Span<byte> dst)
    {
        if (src is null) return;
        src.AsSpan(0, Math.Min(src.Length, dst.Length)).CopyTo(dst);
    }
}
