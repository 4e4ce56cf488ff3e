using System.Buffers.Binary;

namespace UsbRedir.Tests.Controllers.Usbip;

/// <summary>
/// The client (vhci_hcd) side of USB/IP written out by hand from usbip_protocol.rst, independently of the production
/// codec: builds CMD_SUBMIT / CMD_UNLINK and reads RET_SUBMIT / RET_UNLINK. Shared (as a linked file) with
/// fuzz/UsbRedir.Fuzz, whose usbip seeds it writes, so it depends on nothing but the BCL.
/// </summary>
internal static class UsbipWire
{
    public static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(Uri.IsHexDigit)));

    public static byte[] CmdSubmit(uint seqnum, bool dirIn, uint ep, int length, byte[]? setup = null, byte[]? outData = null,
        uint flags = 0, int startFrame = 0, int packets = 0, int interval = 0, (uint Offset, uint Length)[]? iso = null, uint devid = 0x0001000f)
    {
        var data = outData ?? [];
        var isoBytes = (iso?.Length ?? 0) * 16;
        var pdu = new byte[48 + data.Length + isoBytes];
        var s = pdu.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(s, 1);
        BinaryPrimitives.WriteUInt32BigEndian(s[4..], seqnum);
        BinaryPrimitives.WriteUInt32BigEndian(s[8..], devid);
        BinaryPrimitives.WriteUInt32BigEndian(s[12..], dirIn ? 1u : 0u);
        BinaryPrimitives.WriteUInt32BigEndian(s[16..], ep);
        BinaryPrimitives.WriteUInt32BigEndian(s[20..], flags | (dirIn ? 0x200u : 0u));
        BinaryPrimitives.WriteInt32BigEndian(s[24..], length);
        BinaryPrimitives.WriteInt32BigEndian(s[28..], startFrame);
        BinaryPrimitives.WriteInt32BigEndian(s[32..], iso?.Length ?? packets);
        BinaryPrimitives.WriteInt32BigEndian(s[36..], interval);
        (setup ?? new byte[8]).CopyTo(s[40..]);
        data.CopyTo(s[48..]);
        var d = s[(48 + data.Length)..];
        foreach (var (offset, len) in iso ?? [])
        {
            BinaryPrimitives.WriteUInt32BigEndian(d, offset);
            BinaryPrimitives.WriteUInt32BigEndian(d[4..], len);
            d = d[16..];
        }
        return pdu;
    }

    public static byte[] CmdUnlink(uint seqnum, uint unlinkSeqnum)
    {
        var pdu = new byte[48];
        BinaryPrimitives.WriteUInt32BigEndian(pdu, 2);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(4), seqnum);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(8), 0x0001000f);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(20), unlinkSeqnum);
        return pdu;
    }

    /// <summary>A reply as vhci_rx reads it: header fields, then the payload it would read given the URB's direction.</summary>
    public sealed record Ret(uint Command, uint Seqnum, int Status, int ActualLength, int StartFrame, int Packets, int ErrorCount,
        byte[] Data, (uint Offset, uint Length, uint Actual, int Status)[] Iso);

    public static Ret ParseRet(ReadOnlySpan<byte> pdu, bool dirIn, bool iso)
    {
        var command = BinaryPrimitives.ReadUInt32BigEndian(pdu);
        var actual = BinaryPrimitives.ReadInt32BigEndian(pdu[24..]);
        var packets = BinaryPrimitives.ReadInt32BigEndian(pdu[32..]);
        var dataLength = command == 3 && dirIn ? actual : 0;
        var data = pdu.Slice(48, dataLength).ToArray();
        var descs = new List<(uint, uint, uint, int)>();
        if (command == 3 && iso)
        {
            var d = pdu[(48 + dataLength)..];
            for (var i = 0; i < packets; i++, d = d[16..])
                descs.Add((BinaryPrimitives.ReadUInt32BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d[4..]),
                    BinaryPrimitives.ReadUInt32BigEndian(d[8..]), BinaryPrimitives.ReadInt32BigEndian(d[12..])));
        }
        return new Ret(command, BinaryPrimitives.ReadUInt32BigEndian(pdu[4..]), BinaryPrimitives.ReadInt32BigEndian(pdu[20..]),
            actual, BinaryPrimitives.ReadInt32BigEndian(pdu[28..]), packets, BinaryPrimitives.ReadInt32BigEndian(pdu[36..]),
            data, [.. descs]);
    }
}
