using System.Buffers.Binary;

namespace UsbRedir.Protocol;

/// <summary>
/// ep_info (type 5, usb-host → usb-guest): the endpoint table, 32 entries indexed by
/// <c>(addr &amp; 0x0F) | ((addr &amp; 0x80) &gt;&gt; 3)</c>. 96 bytes; 160 with max_packet_size when both sides have
/// <see cref="UsbRedirCapabilities.EpInfoMaxPacketSize"/>; 288 with max_streams when both also have
/// <see cref="UsbRedirCapabilities.BulkStreams"/>. Optional arrays are null when not received and zero when not given.
/// </summary>
/// <param name="Types">Endpoint type per index (0 control, 1 iso, 2 bulk, 3 interrupt, 255 invalid).</param>
/// <param name="Intervals">bInterval per index.</param>
/// <param name="Interfaces">Owning bInterfaceNumber per index.</param>
/// <param name="MaxPacketSizes">max_packet_size per index, or null.</param>
/// <param name="MaxStreams">max_streams per index, or null.</param>
public sealed record EpInfoHeader(byte[] Types, byte[] Intervals, byte[] Interfaces, ushort[]? MaxPacketSizes, uint[]? MaxStreams)
    : IUsbRedirHeader
{
    /// <summary>Size without the optional arrays.</summary>
    public const int BaseSize = 96;
    /// <summary>Size with max_packet_size.</summary>
    public const int WithMaxPacketSizeSize = 160;
    /// <summary>Size with max_packet_size and max_streams.</summary>
    public const int FullSize = 288;

    /// <inheritdoc />
    public UsbRedirPacketType PacketType => UsbRedirPacketType.EpInfo;

    /// <summary>Maps an endpoint address to its ep_info index.</summary>
    public static int IndexOf(byte endpointAddress) => (endpointAddress & 0x0F) | ((endpointAddress & 0x80) >> 3);

    /// <summary>Maps an ep_info index back to the endpoint address.</summary>
    public static byte AddressOf(int index) => (byte)((index & 0x0F) | ((index & 0x10) << 3));

    /// <summary>Decodes the 96-, 160- or 288-byte form (the span length tells which).</summary>
    public static EpInfoHeader Read(ReadOnlySpan<byte> s)
    {
        ushort[]? mps = null;
        uint[]? streams = null;
        if (s.Length >= WithMaxPacketSizeSize)
        {
            mps = new ushort[32];
            for (var i = 0; i < 32; i++) mps[i] = BinaryPrimitives.ReadUInt16LittleEndian(s[(96 + 2 * i)..]);
        }
        if (s.Length >= FullSize)
        {
            streams = new uint[32];
            for (var i = 0; i < 32; i++) streams[i] = BinaryPrimitives.ReadUInt32LittleEndian(s[(160 + 4 * i)..]);
        }
        return new EpInfoHeader(s[..32].ToArray(), s.Slice(32, 32).ToArray(), s.Slice(64, 32).ToArray(), mps, streams);
    }

    /// <inheritdoc />
    public void WriteTo(Span<byte> d)
    {
        d.Clear();
        Copy(Types, d[..32]);
        Copy(Intervals, d.Slice(32, 32));
        Copy(Interfaces, d.Slice(64, 32));
        if (d.Length >= WithMaxPacketSizeSize && MaxPacketSizes is not null)
            for (var i = 0; i < Math.Min(32, MaxPacketSizes.Length); i++)
                BinaryPrimitives.WriteUInt16LittleEndian(d[(96 + 2 * i)..], MaxPacketSizes[i]);
        if (d.Length >= FullSize && MaxStreams is not null)
            for (var i = 0; i < Math.Min(32, MaxStreams.Length); i++)
                BinaryPrimitives.WriteUInt32LittleEndian(d[(160 + 4 * i)..], MaxStreams[i]);
    }

    private static void Copy(byte[]? src, Span<byte> dst)
    {
        if (src is null) return;
        src.AsSpan(0, Math.Min(src.Length, dst.Length)).CopyTo(dst);
    }
}
