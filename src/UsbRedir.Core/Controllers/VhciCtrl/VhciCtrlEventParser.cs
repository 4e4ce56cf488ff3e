using System.Buffers.Binary;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;
using static UsbRedir.Controllers.VhciCtrl.VhciCtrlAbi;

namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>
/// Splits what read() returned from /dev/vhci-ctrl into events (sans-IO). The kernel is trusted to follow its own ABI, but
/// a record that does not is a clear protocol error (a module/library mismatch), never an out-of-range read.
/// </summary>
internal sealed class VhciCtrlEventParser(int maxTransfer, int maxIsoPackets)
{
    /// <summary>Parses the record at the start of <paramref name="buffer"/>; <see cref="VhciCtrlEvent.Length"/> says how far to move on.</summary>
    public VhciCtrlEvent Parse(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < Header.Size)
            throw Malformed($"a record of {buffer.Length} bytes is shorter than its {Header.Size}-byte header");
        var type = BinaryPrimitives.ReadUInt16LittleEndian(buffer[Header.Type..]);
        int port = BinaryPrimitives.ReadUInt16LittleEndian(buffer[Header.Port..]);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(buffer[Header.Length..]);
        var id = BinaryPrimitives.ReadUInt64LittleEndian(buffer[Header.Id..]);
        if (length < Header.Size || length % 8 != 0 || length > buffer.Length)
            throw Malformed($"event type 0x{type:x4} claims {length} bytes with {buffer.Length} read");
        var record = buffer[..(int)length];
        switch (type)
        {
            case EventSubmit:
                return ParseSubmit(record, port, id);
            case EventUnlink:
                RequireSize(record, Unlink.Size, type);
                return new VhciCtrlUnlinkEvent(port, record.Length, id, BinaryPrimitives.ReadInt32LittleEndian(record[Unlink.Status..]));
            case EventPort:
                RequireSize(record, VhciCtrlAbi.Port.Size, type);
                return new VhciCtrlPortEvent(port, record.Length,
                    BinaryPrimitives.ReadUInt16LittleEndian(record[VhciCtrlAbi.Port.Event..]),
                    BinaryPrimitives.ReadUInt16LittleEndian(record[VhciCtrlAbi.Port.Status..]),
                    BinaryPrimitives.ReadUInt16LittleEndian(record[VhciCtrlAbi.Port.Change..]));
            default:
                return new VhciCtrlUnknownEvent(port, record.Length, type);
        }
    }

    private VhciCtrlSubmitEvent ParseSubmit(ReadOnlySpan<byte> record, int port, ulong id)
    {
        RequireSize(record, Submit.Size, EventSubmit);
        var endpoint = record[Submit.Endpoint];
        var transferType = record[Submit.TransferType];
        var transferLength = BinaryPrimitives.ReadUInt32LittleEndian(record[Submit.TransferLength..]);
        var isoCount = BinaryPrimitives.ReadUInt32LittleEndian(record[Submit.IsoPackets..]);
        var dataLength = BinaryPrimitives.ReadUInt32LittleEndian(record[Submit.DataLength..]);
        var isIn = (endpoint & 0x80) != 0;
        if (transferType > (byte)UrbTransferType.Bulk || transferLength > (uint)maxTransfer || isoCount > (uint)maxIsoPackets ||
            (transferType != (byte)UrbTransferType.Isochronous && isoCount != 0) ||
            dataLength != (isIn ? 0 : transferLength))
            throw Malformed($"SUBMIT {id}: type {transferType}, endpoint 0x{endpoint:x2}, length {transferLength}, " +
                $"{isoCount} iso packets, {dataLength} data bytes");
        var dataOffset = Submit.Size + (int)isoCount * IsoPacketSize;
        if (dataOffset + (long)dataLength > record.Length)
            throw Malformed($"SUBMIT {id}: {dataLength} data bytes do not fit in its {record.Length}-byte record");

        var packets = new UsbIsoPacket[isoCount];
        for (var i = 0; i < packets.Length; i++)
        {
            var at = record[(Submit.Size + i * IsoPacketSize)..];
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(at);
            var packetLength = BinaryPrimitives.ReadUInt32LittleEndian(at[4..]);
            if (offset + (ulong)packetLength > transferLength)
                throw Malformed($"SUBMIT {id}: iso packet {i} ({offset}+{packetLength}) lies beyond the {transferLength}-byte buffer");
            packets[i] = new UsbIsoPacket((int)offset, (int)packetLength);
        }

        return new VhciCtrlSubmitEvent(
            port, record.Length, id,
            Address: record[Submit.Address],
            Endpoint: endpoint,
            Type: (UrbTransferType)transferType,
            Flags: (UrbFlags)BinaryPrimitives.ReadUInt32LittleEndian(record[Submit.Flags..]),
            Setup: transferType == (byte)UrbTransferType.Control ? UsbSetupPacket.Read(record[Submit.Setup..]) : default,
            TransferLength: (int)transferLength,
            Interval: BinaryPrimitives.ReadInt32LittleEndian(record[Submit.Interval..]),
            IsoPackets: packets,
            StartFrame: BinaryPrimitives.ReadInt32LittleEndian(record[Submit.StartFrame..]),
            DataOffset: dataOffset,
            DataLength: (int)dataLength);
    }

    private static void RequireSize(ReadOnlySpan<byte> record, int size, ushort type)
    {
        if (record.Length < size)
            throw Malformed($"event type 0x{type:x4} has {record.Length} bytes, needs {size}");
    }

    private static UsbRedirException Malformed(string detail) => new(
        "VhciEventMalformed", UsbRedirErrorCategory.ProtocolError,
        $"/dev/vhci-ctrl sent a malformed event: {detail}.",
        "The loaded usbredir_vhci module does not match this UsbRedir: rebuild and reload it from this release's kernel/ folder.");
}
