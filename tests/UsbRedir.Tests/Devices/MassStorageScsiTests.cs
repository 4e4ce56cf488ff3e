using System.Buffers.Binary;
using System.Text;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.Tests.Devices;

/// <summary>Every SCSI command of the virtual disk, driven through full BOT exchanges (CBW, data, CSW).</summary>
public sealed class MassStorageScsiTests : IDisposable
{
    private const int Blocks = 2048; // 1 MiB image
    private readonly TestImage _image = new(Blocks * 512L);

    public void Dispose() => _image.Dispose();

    private async Task<(MassStorageDevice Disk, BotHost Bot)> PlugAsync(bool readOnly = false, UsbSpeed speed = UsbSpeed.High)
    {
        var disk = VirtualDevices.CreateDisk(_image.Path, readOnly, speed);
        var host = new UsbHostDriver(disk);
        await host.EnumerateAsync();
        return (disk, new BotHost(host));
    }

    [Fact]
    public async Task Inquiry_StandardData_AsLinuxAsksIt()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(Cdb.Inquiry(36), 36, dataIn: true);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(0u, result.Csw.DataResidue);
        Assert.False(result.DataStalled);
        var data = result.Data;
        Assert.Equal(36, data.Length);
        Assert.Equal(0x00, data[0]);
        Assert.Equal(0x80, data[1]);
        Assert.Equal(31, data[4]);
        Assert.Equal("UsbRedir", Encoding.ASCII.GetString(data, 8, 8));
        Assert.Equal("Virtual Disk    ", Encoding.ASCII.GetString(data, 16, 16));
    }

    [Fact]
    public async Task Inquiry_HostAsksMoreThanThereIs_ShortDataThenStallAndResidue()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(Cdb.Inquiry(255), 255, dataIn: true);
        Assert.Equal(36, result.Data.Length);
        Assert.True(result.CswStalled, "the data phase should end with a bulk IN stall (BOT case 5)");
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(255u - 36, result.Csw.DataResidue);
    }

    [Fact]
    public async Task Inquiry_VpdPages_SupportedSerialAndDeviceId()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var supported = await bot.RunAsync(Cdb.Inquiry(255, evpd: true, page: 0x00), 255, dataIn: true);
        Assert.Equal(new byte[] { 0, 0, 0, 3, 0x00, 0x80, 0x83 }, supported.Data);

        var serial = await bot.RunAsync(Cdb.Inquiry(255, evpd: true, page: 0x80), 255, dataIn: true);
        Assert.Equal(0x80, serial.Data[1]);
        Assert.Equal(serial.Data.Length - 4, serial.Data[3]);
        Assert.Equal(disk.SerialNumber, Encoding.ASCII.GetString(serial.Data, 4, serial.Data[3]));

        var identification = await bot.RunAsync(Cdb.Inquiry(255, evpd: true, page: 0x83), 255, dataIn: true);
        var data = identification.Data;
        Assert.Equal(0x83, data[1]);
        Assert.Equal(data.Length - 4, BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2)));
        Assert.Equal(0x02, data[4] & 0x0F); // ASCII
        Assert.Equal(0x01, data[5] & 0x0F); // T10 vendor ID based
        Assert.Equal(data.Length - 8, data[7]);
        Assert.Equal("UsbRedir" + disk.SerialNumber, Encoding.ASCII.GetString(data, 8, data[7]));

        var bad = await bot.RunAsync(Cdb.Inquiry(255, evpd: true, page: 0xB0), 255, dataIn: true);
        Assert.Equal(CommandStatus.Failed, bad.Csw.Status);
        Assert.True(bad.DataStalled);
        Assert.Equal(255u, bad.Csw.DataResidue);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x24, (byte)0), await bot.RequestSenseAsync());
    }

    [Fact]
    public async Task TestUnitReady_Passes_AndSenseIsClearAfterwards()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(Cdb.TestUnitReady(), 0, dataIn: false);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(((byte)0, (byte)0, (byte)0), await bot.RequestSenseAsync());
    }

    [Fact]
    public async Task ReadCapacity10And16_ReportLastBlockAndBlockSize()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var ten = await bot.RunAsync(Cdb.ReadCapacity10(), 8, dataIn: true);
        Assert.Equal(CommandStatus.Passed, ten.Csw.Status);
        Assert.Equal((uint)Blocks - 1, BinaryPrimitives.ReadUInt32BigEndian(ten.Data));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(ten.Data.AsSpan(4)));

        var sixteen = await bot.RunAsync(Cdb.ReadCapacity16(32), 32, dataIn: true);
        Assert.Equal(CommandStatus.Passed, sixteen.Csw.Status);
        Assert.Equal(32, sixteen.Data.Length);
        Assert.Equal((ulong)Blocks - 1, BinaryPrimitives.ReadUInt64BigEndian(sixteen.Data));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(sixteen.Data.AsSpan(8)));

        var otherAction = await bot.RunAsync(Cdb.ReadCapacity16(32, serviceAction: 0x11), 32, dataIn: true);
        Assert.Equal(CommandStatus.Failed, otherAction.Csw.Status);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x24, (byte)0), await bot.RequestSenseAsync());
    }

    [Theory]
    [InlineData(0)]      // one 64 KiB bulk IN
    [InlineData(512)]    // split into high-speed packets
    [InlineData(16384)]  // split into 16 KiB URBs
    [InlineData(1000)]   // chunks that are not a multiple of the packet size
    public async Task Read10_64KiB_WholeOrSplit_ReturnsImageBytes(int chunk)
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(Cdb.Read10(100, 128), 128 * 512, dataIn: true, chunk: chunk);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(0u, result.Csw.DataResidue);
        Assert.False(result.CswStalled);
        Assert.Equal(_image.Contents.AsSpan(100 * 512, 128 * 512).ToArray(), result.Data);
    }

    [Fact]
    public async Task Read_6_12_16_AddressTheSameBlocks()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var expected = _image.Contents.AsSpan(7 * 512, 3 * 512).ToArray();
        Assert.Equal(expected, (await bot.RunAsync(Cdb.Rw6(ScsiOpcodes.Read6, 7, 3), 3 * 512, dataIn: true)).Data);
        Assert.Equal(expected, (await bot.RunAsync(Cdb.Rw12(ScsiOpcodes.Read12, 7, 3), 3 * 512, dataIn: true)).Data);
        Assert.Equal(expected, (await bot.RunAsync(Cdb.Rw16(ScsiOpcodes.Read16, 7, 3), 3 * 512, dataIn: true)).Data);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(512)]
    [InlineData(4096)]
    [InlineData(700)]
    public async Task Write10_WholeOrSplit_LandsInTheImage(int chunk)
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var payload = new byte[64 * 512];
        new Random(chunk).NextBytes(payload);
        var result = await bot.RunAsync(Cdb.Write10(500, 64), (uint)payload.Length, dataIn: false, payload, chunk);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(0u, result.Csw.DataResidue);
        var back = await bot.RunAsync(Cdb.Read10(500, 64), (uint)payload.Length, dataIn: true);
        Assert.Equal(payload, back.Data);
        Assert.Equal(payload, _image.RawRead(500 * 512, payload.Length));
        // Neighbours untouched.
        Assert.Equal(_image.Contents.AsSpan(499 * 512, 512).ToArray(), _image.RawRead(499 * 512, 512));
        Assert.Equal(_image.Contents.AsSpan(564 * 512, 512).ToArray(), _image.RawRead(564 * 512, 512));
    }

    [Fact]
    public async Task Write_6_12_16_AndFua_LandInTheImage()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        byte[] Block(byte fill) => Enumerable.Repeat(fill, 512).ToArray();
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.Rw6(ScsiOpcodes.Write6, 10, 1), 512, false, Block(0x66))).Csw.Status);
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.Rw12(ScsiOpcodes.Write12, 11, 1), 512, false, Block(0x12))).Csw.Status);
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.Rw16(ScsiOpcodes.Write16, 12, 1, flags: 0x08), 512, false, Block(0x16))).Csw.Status);
        Assert.Equal(Block(0x66).Concat(Block(0x12)).Concat(Block(0x16)).ToArray(), _image.RawRead(10 * 512, 3 * 512));
    }

    [Fact]
    public async Task ReadOrWrite_PastTheEnd_LbaOutOfRange_AndNothingWritten()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var read = await bot.RunAsync(Cdb.Read10(Blocks - 1, 2), 1024, dataIn: true);
        Assert.Equal(CommandStatus.Failed, read.Csw.Status);
        Assert.True(read.DataStalled);
        Assert.Empty(read.Data);
        Assert.Equal(1024u, read.Csw.DataResidue);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x21, (byte)0), await bot.RequestSenseAsync());

        var write = await bot.RunAsync(Cdb.Write10(Blocks, 1), 512, dataIn: false, Enumerable.Repeat((byte)0xEE, 512).ToArray());
        Assert.Equal(CommandStatus.Failed, write.Csw.Status);
        Assert.Equal(512u, write.Csw.DataResidue);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x21, (byte)0), await bot.RequestSenseAsync());

        var huge = await bot.RunAsync(Cdb.Rw16(ScsiOpcodes.Read16, ulong.MaxValue, 1), 512, dataIn: true);
        Assert.Equal(CommandStatus.Failed, huge.Csw.Status);
        Assert.Equal(Blocks * 512L, new FileInfo(_image.Path).Length);
        Assert.Equal(_image.Contents, _image.RawRead(0, _image.Contents.Length));
    }

    [Fact]
    public async Task ModeSense6_AllPagesThenCaching_AsLinuxAsks()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var all = await bot.RunAsync(Cdb.ModeSense6(0x3F, 192), 192, dataIn: true);
        Assert.Equal(CommandStatus.Passed, all.Csw.Status);
        Assert.Equal(all.Data.Length - 1, all.Data[0]);
        Assert.Equal(0, all.Data[2] & 0x80); // not write protected
        Assert.Equal(0, all.Data[3]);        // no block descriptors
        Assert.Equal(0x08, all.Data[4] & 0x3F);
        Assert.Equal(0x12, all.Data[5]);
        Assert.Equal(0x04, all.Data[6] & 0x04); // WCE
        Assert.Equal(192u - (uint)all.Data.Length, all.Csw.DataResidue);

        var caching = await bot.RunAsync(Cdb.ModeSense6(0x08, 192), 192, dataIn: true);
        Assert.Equal(all.Data, caching.Data);

        // Linux first probes with a 4-byte header read.
        var header = await bot.RunAsync(Cdb.ModeSense6(0x3F, 4), 4, dataIn: true);
        Assert.Equal(all.Data[..4], header.Data);
        Assert.Equal(0u, header.Csw.DataResidue);
    }

    [Fact]
    public async Task ModeSense10_HeaderAndPage()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(Cdb.ModeSense10(0x3F, 512), 512, dataIn: true);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(result.Data.Length - 2, BinaryPrimitives.ReadUInt16BigEndian(result.Data));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(result.Data.AsSpan(6)));
        Assert.Equal(0x08, result.Data[8]);
    }

    [Fact]
    public async Task ModeSense_UnsupportedPageOrSavedValues_IllegalRequest()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        Assert.Equal(CommandStatus.Failed, (await bot.RunAsync(Cdb.ModeSense6(0x1C, 192), 192, dataIn: true)).Csw.Status);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x24, (byte)0), await bot.RequestSenseAsync());
        Assert.Equal(CommandStatus.Failed, (await bot.RunAsync(Cdb.ModeSense6(0x08, 192, pageControl: 3), 192, dataIn: true)).Csw.Status);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x39, (byte)0), await bot.RequestSenseAsync());
        var changeable = await bot.RunAsync(Cdb.ModeSense6(0x08, 192, pageControl: 1), 192, dataIn: true);
        Assert.Equal(CommandStatus.Passed, changeable.Csw.Status);
        Assert.Equal(0, changeable.Data[6]); // nothing changeable
    }

    [Fact]
    public async Task ReadOnly_WriteProtectBit_WritesRefused_FileNeverChanges()
    {
        var before = _image.Hash();
        var (disk, bot) = await PlugAsync(readOnly: true);
        await using (disk)
        {
            var mode = await bot.RunAsync(Cdb.ModeSense6(0x3F, 192), 192, dataIn: true);
            Assert.Equal(0x80, mode.Data[2] & 0x80);
            Assert.Equal(0, mode.Data[6] & 0x04); // no write cache to speak of

            var write = await bot.RunAsync(Cdb.Write10(0, 8), 8 * 512, dataIn: false, new byte[8 * 512]);
            Assert.Equal(CommandStatus.Failed, write.Csw.Status);
            Assert.Equal((ScsiSenseKeys.DataProtect, (byte)0x27, (byte)0), await bot.RequestSenseAsync());
            var write16 = await bot.RunAsync(Cdb.Rw16(ScsiOpcodes.Write16, 5, 1), 512, dataIn: false, new byte[512]);
            Assert.Equal(CommandStatus.Failed, write16.Csw.Status);

            Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.SynchronizeCache10(), 0, false)).Csw.Status);
            var read = await bot.RunAsync(Cdb.Read10(0, 8), 8 * 512, dataIn: true);
            Assert.Equal(_image.Contents.AsSpan(0, 8 * 512).ToArray(), read.Data);
            Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.StartStop(start: false, loadEject: true), 0, false)).Csw.Status);
        }
        Assert.Equal(before, _image.Hash());
    }

    [Fact]
    public async Task PreventAllowAndStartStop_EjectIsRefusedWhileLocked_ThenMediumGoesAndComesBack()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.PreventAllow(true), 0, false)).Csw.Status);
        Assert.Equal(CommandStatus.Failed, (await bot.RunAsync(Cdb.StartStop(start: false, loadEject: true), 0, false)).Csw.Status);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x53, (byte)0x02), await bot.RequestSenseAsync());
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.PreventAllow(false), 0, false)).Csw.Status);

        // A plain stop (no eject) keeps the medium.
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.StartStop(start: false, loadEject: false), 0, false)).Csw.Status);
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.TestUnitReady(), 0, false)).Csw.Status);

        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.StartStop(start: false, loadEject: true), 0, false)).Csw.Status);
        Assert.Equal(CommandStatus.Failed, (await bot.RunAsync(Cdb.TestUnitReady(), 0, false)).Csw.Status);
        Assert.Equal((ScsiSenseKeys.NotReady, (byte)0x3A, (byte)0), await bot.RequestSenseAsync());
        Assert.Equal(CommandStatus.Failed, (await bot.RunAsync(Cdb.Read10(0, 1), 512, true)).Csw.Status);
        var formats = await bot.RunAsync(Cdb.ReadFormatCapacities(252), 252, true);
        Assert.Equal(0x03, formats.Data[8]); // no media present

        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.StartStop(start: true, loadEject: true), 0, false)).Csw.Status);
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.TestUnitReady(), 0, false)).Csw.Status);
    }

    [Fact]
    public async Task SynchronizeCache10And16_Pass_AndWrittenDataIsInTheFile()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var payload = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.Write10(1000, 8), 4096, false, payload)).Csw.Status);
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.SynchronizeCache10(), 0, false)).Csw.Status);
        Assert.Equal(payload, _image.RawRead(1000 * 512, 4096));
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.SynchronizeCache16(), 0, false)).Csw.Status);
        var outside = await bot.RunAsync(Cdb.Rw10(ScsiOpcodes.SynchronizeCache10, Blocks, 1), 0, false);
        Assert.Equal(CommandStatus.Failed, outside.Csw.Status);
    }

    [Fact]
    public async Task Verify10_RangeCheckAndByteCompare()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.Verify10(0, 16, byteCheck: false), 0, false)).Csw.Status);
        Assert.Equal(CommandStatus.Failed, (await bot.RunAsync(Cdb.Verify10(Blocks, 1, byteCheck: false), 0, false)).Csw.Status);

        var same = _image.Contents.AsSpan(20 * 512, 1024).ToArray();
        Assert.Equal(CommandStatus.Passed, (await bot.RunAsync(Cdb.Verify10(20, 2, byteCheck: true), 1024, false, same)).Csw.Status);
        var different = (byte[])same.Clone();
        different[700] ^= 0xFF;
        Assert.Equal(CommandStatus.Failed, (await bot.RunAsync(Cdb.Verify10(20, 2, byteCheck: true), 1024, false, different, chunk: 512)).Csw.Status);
        Assert.Equal((ScsiSenseKeys.Miscompare, (byte)0x1D, (byte)0), await bot.RequestSenseAsync());
        Assert.Equal(_image.Contents.AsSpan(20 * 512, 1024).ToArray(), _image.RawRead(20 * 512, 1024));
    }

    [Fact]
    public async Task ReportLuns_OneLunZero()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(Cdb.ReportLuns(4096), 4096, true);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(new byte[] { 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, result.Data);
        Assert.Equal(4096u - 16, result.Csw.DataResidue);
    }

    [Fact]
    public async Task ReadFormatCapacities_AsWindowsAsks()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(Cdb.ReadFormatCapacities(0xFC), 0xFC, true);
        Assert.Equal(CommandStatus.Passed, result.Csw.Status);
        Assert.Equal(12, result.Data.Length);
        Assert.Equal(8, result.Data[3]);
        Assert.Equal((uint)Blocks, BinaryPrimitives.ReadUInt32BigEndian(result.Data.AsSpan(4)));
        Assert.Equal(0x02, result.Data[8]);
        Assert.Equal(new byte[] { 0, 2, 0 }, result.Data[9..12]);
        Assert.Equal(0xFCu - 12, result.Csw.DataResidue);
    }

    [Theory]
    [InlineData(new byte[] { 0x4D, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 })] // LOG SENSE
    [InlineData(new byte[] { 0x15, 0, 0, 0, 0, 0 })]                 // MODE SELECT(6)
    [InlineData(new byte[] { 0x04, 0, 0, 0, 0, 0 })]                 // FORMAT UNIT
    public async Task UnknownCommand_InvalidCommandOperationCode(byte[] cdb)
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        var result = await bot.RunAsync(cdb, 0, false);
        Assert.Equal(CommandStatus.Failed, result.Csw.Status);
        Assert.Equal((ScsiSenseKeys.IllegalRequest, (byte)0x20, (byte)0), await bot.RequestSenseAsync());
        // Sense is consumed by REQUEST SENSE.
        Assert.Equal(((byte)0, (byte)0, (byte)0), await bot.RequestSenseAsync());
    }

    [Fact]
    public async Task RequestSense_LinuxSizedAllocation_GivesEighteenBytesWithResidue()
    {
        var (disk, bot) = await PlugAsync();
        await using var _ = disk;
        await bot.RunAsync(Cdb.Read10(Blocks, 1), 512, true);
        var result = await bot.RunAsync([ScsiOpcodes.RequestSense, 0, 0, 0, 96, 0], 96, true);
        Assert.Equal(18, result.Data.Length);
        Assert.Equal(96u - 18, result.Csw.DataResidue);
        Assert.Equal(0x05, result.Data[2]);
        Assert.Equal(0x21, result.Data[12]);
        Assert.Equal(10, result.Data[7]);
    }
}
