using System.Buffers.Binary;
using System.Text;

namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>
/// One SCSI direct-access logical unit over a <see cref="DiskImage"/>: decodes CDBs into <see cref="ScsiCommand"/>s and
/// keeps the unit's sense data, medium state (ejected or loaded) and removal lock. Not thread-safe: the owning
/// device serializes calls.
/// </summary>
/// <remarks>
/// Covers what Linux sd/usb-storage and Windows usbstor/disk.sys issue: INQUIRY (standard, VPD 0x00/0x80/0x83),
/// TEST UNIT READY, REQUEST SENSE, READ CAPACITY(10/16), READ/WRITE(6/10/12/16), MODE SENSE(6/10), PREVENT ALLOW
/// MEDIUM REMOVAL, SYNCHRONIZE CACHE(10/16), START STOP UNIT, VERIFY(10/16), REPORT LUNS, READ FORMAT CAPACITIES.
/// Anything else fails with ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE.
/// </remarks>
public sealed class ScsiDisk
{
    private const string Vendor = "UsbRedir";
    private const string ProductName = "Virtual Disk";
    private const string Revision = "0100";

    public ScsiDisk(DiskImage image, string serialNumber)
    {
        Image = image;
        SerialNumber = serialNumber;
    }

    public DiskImage Image { get; }

    public string SerialNumber { get; }

    /// <summary>Sense data of the last failed command, returned (and cleared) by REQUEST SENSE.</summary>
    public SenseData Sense { get; set; }

    /// <summary>False after the host ejected the medium (START STOP UNIT with LOEJ); commands then fail NOT READY.</summary>
    public bool MediumPresent { get; private set; } = true;

    /// <summary>Set by PREVENT ALLOW MEDIUM REMOVAL; an eject is refused while set.</summary>
    public bool RemovalPrevented { get; private set; }

    /// <summary>Back to power-on state after a USB reset: the medium is loaded and removal allowed.</summary>
    public void Reset()
    {
        Sense = SenseData.NoSense;
        MediumPresent = true;
        RemovalPrevented = false;
    }

    /// <param name="cdb">The command descriptor block (the CBW's 16 bytes, zero padded past <paramref name="cdbLength"/>).</param>
    public ScsiCommand Decode(ReadOnlySpan<byte> cdb, int cdbLength)
    {
        var opcode = cdb[0];
        // Sense data describes the previous command only; REQUEST SENSE is the one that reads it.
        if (opcode != ScsiOpcodes.RequestSense)
            Sense = SenseData.NoSense;
        var required = ScsiOpcodes.CdbLength(opcode);
        if (required != 0 && cdbLength < required)
            return Fail(SenseData.InvalidFieldInCdb);

        return opcode switch
        {
            ScsiOpcodes.TestUnitReady => MediumPresent ? CompletedScsiCommand.Good : Fail(SenseData.MediumNotPresent),
            ScsiOpcodes.RequestSense => RequestSense(cdb),
            ScsiOpcodes.Inquiry => Inquiry(cdb),
            ScsiOpcodes.ModeSense6 => ModeSense(cdb, tenByte: false),
            ScsiOpcodes.ModeSense10 => ModeSense(cdb, tenByte: true),
            ScsiOpcodes.StartStopUnit => StartStopUnit(cdb),
            ScsiOpcodes.PreventAllowMediumRemoval => PreventAllowMediumRemoval(cdb),
            ScsiOpcodes.ReadFormatCapacities => ReadFormatCapacities(cdb),
            ScsiOpcodes.ReadCapacity10 => ReadCapacity10(),
            ScsiOpcodes.ServiceActionIn16 when (cdb[1] & 0x1F) == ScsiOpcodes.ServiceActionReadCapacity16 => ReadCapacity16(cdb),
            ScsiOpcodes.ServiceActionIn16 => Fail(SenseData.InvalidFieldInCdb),
            ScsiOpcodes.ReportLuns => ReportLuns(cdb),
            ScsiOpcodes.Read6 => Blocks(BlockScsiCommand.BlockOperation.Read, Lba6(cdb), Count6(cdb), fua: false),
            ScsiOpcodes.Read10 => Blocks(BlockScsiCommand.BlockOperation.Read, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]),
                BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]), fua: false),
            ScsiOpcodes.Read12 => Blocks(BlockScsiCommand.BlockOperation.Read, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]),
                BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), fua: false),
            ScsiOpcodes.Read16 => Blocks(BlockScsiCommand.BlockOperation.Read, BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]),
                BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), fua: false),
            ScsiOpcodes.Write6 => Blocks(BlockScsiCommand.BlockOperation.Write, Lba6(cdb), Count6(cdb), fua: false),
            ScsiOpcodes.Write10 => Blocks(BlockScsiCommand.BlockOperation.Write, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]),
                BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]), fua: (cdb[1] & 0x08) != 0),
            ScsiOpcodes.Write12 => Blocks(BlockScsiCommand.BlockOperation.Write, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]),
                BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), fua: (cdb[1] & 0x08) != 0),
            ScsiOpcodes.Write16 => Blocks(BlockScsiCommand.BlockOperation.Write, BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]),
                BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), fua: (cdb[1] & 0x08) != 0),
            ScsiOpcodes.Verify10 => Verify(cdb[1], BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt16BigEndian(cdb[7..])),
            ScsiOpcodes.Verify16 => Verify(cdb[1], BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[10..])),
            ScsiOpcodes.SynchronizeCache10 => SynchronizeCache(BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt16BigEndian(cdb[7..])),
            ScsiOpcodes.SynchronizeCache16 => SynchronizeCache(BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[10..])),
            _ => Fail(SenseData.InvalidCommandOperationCode),
        };
    }

    // 6-byte READ/WRITE: 21-bit LBA, and a transfer length of 0 means 256 blocks (SBC-3 5.8).
    private static ulong Lba6(ReadOnlySpan<byte> cdb) => ((ulong)(cdb[1] & 0x1F) << 16) | BinaryPrimitives.ReadUInt16BigEndian(cdb[2..]);

    private static ulong Count6(ReadOnlySpan<byte> cdb) => cdb[4] == 0 ? 256UL : cdb[4];

    private CompletedScsiCommand Fail(SenseData sense)
    {
        Sense = sense;
        return new CompletedScsiCommand(ScsiStatus.CheckCondition);
    }

    private static ReplyScsiCommand Reply(ReadOnlySpan<byte> data, long allocationLength) =>
        new(data[..(int)Math.Min(data.Length, allocationLength)].ToArray());

    private ScsiCommand RequestSense(ReadOnlySpan<byte> cdb)
    {
        // Fixed format even if DESC is set: Linux and Windows accept it, and it is all this unit produces.
        var sense = Sense == SenseData.NoSense && !MediumPresent ? SenseData.MediumNotPresent : Sense;
        Sense = SenseData.NoSense;
        Span<byte> data = stackalloc byte[SenseData.FixedFormatLength];
        sense.WriteFixedFormat(data);
        return Reply(data, cdb[4]);
    }

    private ScsiCommand Inquiry(ReadOnlySpan<byte> cdb)
    {
        var allocationLength = BinaryPrimitives.ReadUInt16BigEndian(cdb[3..]);
        var evpd = (cdb[1] & 0x01) != 0;
        var page = cdb[2];
        // CmdDt (bit 1) is obsolete; a host setting it expects a format we do not produce.
        if ((cdb[1] & 0x02) != 0 || (!evpd && page != 0))
            return Fail(SenseData.InvalidFieldInCdb);
        if (!evpd)
        {
            var data = new byte[36];
            data[0] = 0x00; // peripheral qualifier 0, direct-access block device
            data[1] = 0x80; // removable medium, like a USB stick: hosts offer "eject"
            data[2] = 0x05; // SPC-3
            data[3] = 0x02; // response data format 2
            data[4] = (byte)(data.Length - 5);
            WriteAscii(data.AsSpan(8, 8), Vendor);
            WriteAscii(data.AsSpan(16, 16), ProductName);
            WriteAscii(data.AsSpan(32, 4), Revision);
            return Reply(data, allocationLength);
        }

        byte[] vpd;
        switch (page)
        {
            case 0x00: // supported pages
                vpd = [0x00, 0x00, 0x00, 3, 0x00, 0x80, 0x83];
                break;
            case 0x80: // unit serial number
                var serial = Encoding.ASCII.GetBytes(SerialNumber);
                vpd = new byte[4 + serial.Length];
                vpd[1] = 0x80;
                vpd[3] = (byte)serial.Length;
                serial.CopyTo(vpd, 4);
                break;
            case 0x83: // device identification: one T10 vendor ID based designator (vendor + serial)
                var identifier = Encoding.ASCII.GetBytes(Vendor.PadRight(8) + SerialNumber);
                vpd = new byte[4 + 4 + identifier.Length];
                vpd[1] = 0x83;
                BinaryPrimitives.WriteUInt16BigEndian(vpd.AsSpan(2), (ushort)(4 + identifier.Length));
                vpd[4] = 0x02; // code set: ASCII
                vpd[5] = 0x01; // association: logical unit; type: T10 vendor ID based
                vpd[7] = (byte)identifier.Length;
                identifier.CopyTo(vpd, 8);
                break;
            default:
                return Fail(SenseData.InvalidFieldInCdb);
        }
        return Reply(vpd, allocationLength);
    }

    private ScsiCommand ModeSense(ReadOnlySpan<byte> cdb, bool tenByte)
    {
        var pageControl = cdb[2] >> 6;
        var pageCode = cdb[2] & 0x3F;
        var subpage = cdb[3];
        long allocationLength = tenByte ? BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]) : cdb[4];
        if (pageControl == 3)
            return Fail(SenseData.SavingParametersNotSupported);
        if (pageCode is not (0x08 or 0x3F) || !(subpage == 0 || (subpage == 0xFF && pageCode == 0x3F)))
            return Fail(SenseData.InvalidFieldInCdb);

        // Caching mode page (SBC-3 6.4.5). WCE: writes land in the OS cache, and SYNCHRONIZE CACHE flushes it,
        // which makes Linux and Windows send SYNCHRONIZE CACHE when they need data on disk.
        var caching = new byte[20];
        caching[0] = 0x08;
        caching[1] = (byte)(caching.Length - 2);
        if (pageControl != 1 && !Image.ReadOnly)
            caching[2] = 0x04;

        // Device-specific parameter: WP when read-only; DPOFUA because FUA writes are flushed before completing.
        var deviceSpecific = (byte)(Image.ReadOnly ? 0x80 : 0x10);
        var headerLength = tenByte ? 8 : 4;
        var data = new byte[headerLength + caching.Length];
        if (tenByte)
        {
            BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)(data.Length - 2));
            data[3] = deviceSpecific;
        }
        else
        {
            data[0] = (byte)(data.Length - 1);
            data[2] = deviceSpecific;
        }
        // No block descriptors (block descriptor length 0): allowed, and READ CAPACITY tells the block size.
        caching.CopyTo(data, headerLength);
        return Reply(data, allocationLength);
    }

    private ScsiCommand StartStopUnit(ReadOnlySpan<byte> cdb)
    {
        var powerCondition = cdb[4] >> 4;
        var loadEject = (cdb[4] & 0x02) != 0;
        var start = (cdb[4] & 0x01) != 0;
        // With a power condition set, START and LOEJ are ignored (SBC-3 5.25).
        if (powerCondition != 0)
            return CompletedScsiCommand.Good;
        if (loadEject && start)
        {
            MediumPresent = true;
            return CompletedScsiCommand.Good;
        }
        if (loadEject && RemovalPrevented)
            return Fail(SenseData.MediumRemovalPrevented);
        if (!FlushImage())
            return Fail(SenseData.WriteError);
        if (loadEject)
            MediumPresent = false;
        return CompletedScsiCommand.Good;
    }

    private ScsiCommand PreventAllowMediumRemoval(ReadOnlySpan<byte> cdb)
    {
        RemovalPrevented = (cdb[4] & 0x01) != 0;
        return CompletedScsiCommand.Good;
    }

    private ScsiCommand ReadFormatCapacities(ReadOnlySpan<byte> cdb)
    {
        var data = new byte[12];
        data[3] = 8; // capacity list length: one descriptor
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), (uint)Math.Min(Image.BlockCount, uint.MaxValue));
        data[8] = (byte)(MediumPresent ? 0x02 : 0x03); // formatted media / no media present (maximum capacity)
        data[9] = (DiskImage.BlockSize >> 16) & 0xFF;
        data[10] = (DiskImage.BlockSize >> 8) & 0xFF;
        data[11] = DiskImage.BlockSize & 0xFF;
        return Reply(data, BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]));
    }

    private ScsiCommand ReadCapacity10()
    {
        if (!MediumPresent)
            return Fail(SenseData.MediumNotPresent);
        var data = new byte[8];
        // 0xFFFFFFFF tells the host to use READ CAPACITY(16) for images of 2 TiB and more.
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)Math.Min(Image.BlockCount - 1, uint.MaxValue));
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), DiskImage.BlockSize);
        return Reply(data, data.Length);
    }

    private ScsiCommand ReadCapacity16(ReadOnlySpan<byte> cdb)
    {
        if (!MediumPresent)
            return Fail(SenseData.MediumNotPresent);
        var data = new byte[32];
        BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)(Image.BlockCount - 1));
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8), DiskImage.BlockSize);
        return Reply(data, BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]));
    }

    private static ScsiCommand ReportLuns(ReadOnlySpan<byte> cdb)
    {
        var data = new byte[16];
        data[3] = 8; // LUN list length: LUN 0 only
        return Reply(data, BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]));
    }

    private ScsiCommand Blocks(BlockScsiCommand.BlockOperation operation, ulong firstBlock, ulong blockCount, bool fua)
    {
        if (!MediumPresent)
            return Fail(SenseData.MediumNotPresent);
        if (operation == BlockScsiCommand.BlockOperation.Write && Image.ReadOnly)
            return Fail(SenseData.WriteProtected);
        if (!InRange(firstBlock, blockCount))
            return Fail(SenseData.LogicalBlockAddressOutOfRange);
        return blockCount == 0
            ? CompletedScsiCommand.Good
            : new BlockScsiCommand(this, operation, (long)firstBlock, (long)blockCount, fua);
    }

    private ScsiCommand Verify(byte flags, ulong firstBlock, ulong blockCount)
    {
        var byteCheck = (flags >> 1) & 0x03;
        if (byteCheck is 2 or 3)
            return Fail(SenseData.InvalidFieldInCdb);
        if (byteCheck == 0)
        {
            // Medium verification only: a file has no latent sector errors to find, so a valid range verifies.
            if (!MediumPresent)
                return Fail(SenseData.MediumNotPresent);
            return InRange(firstBlock, blockCount) ? CompletedScsiCommand.Good : Fail(SenseData.LogicalBlockAddressOutOfRange);
        }
        return Blocks(BlockScsiCommand.BlockOperation.Compare, firstBlock, blockCount, fua: false);
    }

    private ScsiCommand SynchronizeCache(ulong firstBlock, ulong blockCount)
    {
        if (!MediumPresent)
            return Fail(SenseData.MediumNotPresent);
        // A count of 0 means "to the last block".
        if (!InRange(firstBlock, blockCount == 0 ? 1 : blockCount))
            return Fail(SenseData.LogicalBlockAddressOutOfRange);
        return FlushImage() ? CompletedScsiCommand.Good : Fail(SenseData.WriteError);
    }

    private bool InRange(ulong firstBlock, ulong blockCount)
    {
        var blocks = (ulong)Image.BlockCount;
        return firstBlock < blocks && blockCount <= blocks - firstBlock;
    }

    private bool FlushImage()
    {
        try
        {
            Image.Flush();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void WriteAscii(Span<byte> field, string text)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, field.Length)), field);
    }
}
