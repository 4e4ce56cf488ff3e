using System.Buffers.Binary;

namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>The 31-byte Command Block Wrapper a bulk-only host sends on bulk OUT (USB MSC BOT 1.0 section 5.1).</summary>
public readonly record struct CommandBlockWrapper(uint Tag, uint DataTransferLength, byte Flags, byte Lun, byte CdbLength, ReadOnlyMemory<byte> Cdb)
{
    public const int Size = 31;
    public const uint SignatureValue = 0x43425355; // "USBC"

    /// <summary>
    /// Parses a CBW that is "valid" in the spec's sense: exactly 31 bytes with the right signature. The CDB is
    /// copied into 16 bytes, zero padded past <see cref="CdbLength"/>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> bytes, out CommandBlockWrapper cbw)
    {
        cbw = default;
        if (bytes.Length != Size || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != SignatureValue)
            return false;
        var cdbLength = (byte)(bytes[14] & 0x1F);
        var cdb = new byte[16];
        bytes.Slice(15, Math.Min((int)cdbLength, 16)).CopyTo(cdb);
        cbw = new CommandBlockWrapper(
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]),
            bytes[12],
            bytes[13],
            bytes[14],
            cdb);
        return true;
    }

    /// <summary>Bit 7 of bmCBWFlags: the data phase (if any) goes device-to-host.</summary>
    public bool DataIn => (Flags & 0x80) != 0;

    /// <summary>
    /// "Meaningful" (BOT 6.2.2): reserved bits clear, an existing LUN, and a CDB length of 1 to 16. The raw LUN and
    /// length bytes are compared whole, so their reserved high bits count too.
    /// </summary>
    public bool IsMeaningful(byte maxLun) =>
        (Flags & 0x7F) == 0 && Lun <= maxLun && CdbLength is >= 1 and <= 16;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination, SignatureValue);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Tag);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], DataTransferLength);
        destination[12] = Flags;
        destination[13] = Lun;
        destination[14] = CdbLength;
        Cdb.Span[..Math.Min(Cdb.Length, 16)].CopyTo(destination[15..]);
    }
}
