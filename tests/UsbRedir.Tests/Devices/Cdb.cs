using System.Buffers.Binary;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.Tests.Devices;

/// <summary>SCSI command blocks as Linux and Windows build them.</summary>
internal static class Cdb
{
    public static byte[] Inquiry(ushort allocation, bool evpd = false, byte page = 0)
    {
        var cdb = new byte[6];
        cdb[0] = ScsiOpcodes.Inquiry;
        cdb[1] = (byte)(evpd ? 1 : 0);
        cdb[2] = page;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(3), allocation);
        return cdb;
    }

    public static byte[] TestUnitReady() => new byte[6];

    public static byte[] ReadCapacity10() => [ScsiOpcodes.ReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static byte[] ReadCapacity16(uint allocation = 32, byte serviceAction = ScsiOpcodes.ServiceActionReadCapacity16)
    {
        var cdb = new byte[16];
        cdb[0] = ScsiOpcodes.ServiceActionIn16;
        cdb[1] = serviceAction;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), allocation);
        return cdb;
    }

    public static byte[] Rw6(byte opcode, uint lba, byte blocks) =>
        [opcode, (byte)((lba >> 16) & 0x1F), (byte)(lba >> 8), (byte)lba, blocks, 0];

    public static byte[] Rw10(byte opcode, uint lba, ushort blocks, byte flags = 0)
    {
        var cdb = new byte[10];
        cdb[0] = opcode;
        cdb[1] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return cdb;
    }

    public static byte[] Rw12(byte opcode, uint lba, uint blocks)
    {
        var cdb = new byte[12];
        cdb[0] = opcode;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), blocks);
        return cdb;
    }

    public static byte[] Rw16(byte opcode, ulong lba, uint blocks, byte flags = 0)
    {
        var cdb = new byte[16];
        cdb[0] = opcode;
        cdb[1] = flags;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), blocks);
        return cdb;
    }

    public static byte[] Read10(uint lba, ushort blocks) => Rw10(ScsiOpcodes.Read10, lba, blocks);

    public static byte[] Write10(uint lba, ushort blocks) => Rw10(ScsiOpcodes.Write10, lba, blocks);

    public static byte[] ModeSense6(byte page, byte allocation, byte pageControl = 0, byte subpage = 0) =>
        [ScsiOpcodes.ModeSense6, 0, (byte)(pageControl << 6 | page), subpage, allocation, 0];

    public static byte[] ModeSense10(byte page, ushort allocation)
    {
        var cdb = new byte[10];
        cdb[0] = ScsiOpcodes.ModeSense10;
        cdb[2] = page;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), allocation);
        return cdb;
    }

    public static byte[] PreventAllow(bool prevent) => [ScsiOpcodes.PreventAllowMediumRemoval, 0, 0, 0, (byte)(prevent ? 1 : 0), 0];

    public static byte[] StartStop(bool start, bool loadEject) =>
        [ScsiOpcodes.StartStopUnit, 0, 0, 0, (byte)((start ? 1 : 0) | (loadEject ? 2 : 0)), 0];

    public static byte[] SynchronizeCache10() => Rw10(ScsiOpcodes.SynchronizeCache10, 0, 0);

    public static byte[] SynchronizeCache16() => Rw16(ScsiOpcodes.SynchronizeCache16, 0, 0);

    public static byte[] Verify10(uint lba, ushort blocks, bool byteCheck) =>
        Rw10(ScsiOpcodes.Verify10, lba, blocks, (byte)(byteCheck ? 0x02 : 0));

    public static byte[] ReportLuns(uint allocation)
    {
        var cdb = new byte[12];
        cdb[0] = ScsiOpcodes.ReportLuns;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), allocation);
        return cdb;
    }

    public static byte[] ReadFormatCapacities(ushort allocation)
    {
        var cdb = new byte[10];
        cdb[0] = ScsiOpcodes.ReadFormatCapacities;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), allocation);
        return cdb;
    }
}
