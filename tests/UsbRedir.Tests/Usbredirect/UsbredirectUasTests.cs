using System.Buffers.Binary;
using System.Text;
using UsbRedir.Devices;
using UsbRedir.Tests.Devices;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Usbredirect;

/// <summary>
/// USB 3 bulk streams against the reference usb-host: inside a Debian 6.1 guest, usbredirect exports QEMU's usb-uas disk on
/// qemu-xhci (SuperSpeed, streams on its status and data pipes), and our usb-guest role on the host runs UAS over it: it selects
/// the UAS setting, allocates streams through usbredirect and the guest kernel's xHCI driver, and reads known sectors with
/// several commands in flight on different streams.
/// </summary>
public sealed class UsbredirectUasTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range.</summary>
    private const int FirstPort = 47300, LastPort = 47349; // QemuStreamsTests has 47350-47399

    private const int Blocks = 8192; // 4 MiB

    [UsbredirectVmFact]
    public async Task Our_guest_role_runs_uas_over_the_streams_usbredirect_allocates()
    {
        var (shared, image, content) = await UsbredirectHarness.RandomDiskImageAsync("disk.img", Blocks, 3030);

        await UsbredirectHarness.RunAsync(output, (FirstPort, LastPort), shared, "46f4:0003",
            [
                "-drive", $"if=none,id=disk,format=raw,readonly=on,file={image}",
                "-device", "usb-uas,id=uas,bus=xhci.0",
                "-device", "scsi-hd,bus=uas.0,scsi-id=0,lun=0,drive=disk",
            ],
            async (connection, device) =>
        {
            Assert.Equal(0x46f4, device.VendorId);
            Assert.Equal(0x0003, device.ProductId);
            Assert.Equal(UsbSpeed.Super, device.Speed);
            Assert.Equal(0x0300, BinaryPrimitives.ReadUInt16LittleEndian(device.DeviceDescriptor.Span[2..]));

            // Our guest refuses streams locally unless usbredirect offered cap 0 and ep_info announced them: this proves both.
            var uas = await UasInitiator.OpenAsync(device, streams: 16);
            output.WriteLine($"UAS interface {uas.InterfaceNumber} alt {uas.AlternateSetting}, {uas.Streams} streams");
            Assert.Equal(16, uas.Streams);

            var inquiry = await uas.RunAsync(2, Cdb.Inquiry(36), 36);
            Assert.True(inquiry.Good, $"INQUIRY status {inquiry.Status}");
            Assert.Equal("QEMU", Encoding.ASCII.GetString(inquiry.Data, 8, 8).Trim());
            await uas.WaitUntilReadyAsync();
            var capacity = await uas.RunAsync(3, Cdb.ReadCapacity10(), 8);
            Assert.True(capacity.Good, $"READ CAPACITY status {capacity.Status}");
            Assert.Equal((uint)Blocks - 1, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data));
            Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data.AsSpan(4)));

            // Four reads in flight at once, each on its own tag = stream; each must come back with its own sectors.
            (uint Lba, ushort Count)[] reads = [(0, 8), (4096, 256), ((uint)Blocks - 16, 16), (1234, 64)];
            var results = await Task.WhenAll(reads.Select((r, i) => uas.RunAsync((ushort)(4 + i * 3), Cdb.Read10(r.Lba, r.Count), r.Count * 512)));
            for (var i = 0; i < reads.Length; i++)
            {
                var (lba, count) = reads[i];
                Assert.True(results[i].Good, $"READ(10) {lba}+{count} status {results[i].Status}");
                Assert.True(content.AsSpan((int)lba * 512, count * 512).SequenceEqual(results[i].Data), $"sectors {lba}+{count} differ from the image");
            }
            Assert.Equal(UsbStatus.Success, await uas.FreeStreamsAsync());
            output.WriteLine($"UAS reads OK; {connection.BytesReceived} bytes received, {connection.TransfersSent} transfers sent");
        },
            // Keep the guest's own uas (and usb-storage) driver off the disk, so usbredirect finds it unclaimed.
            kernelArgs: "modprobe.blacklist=uas,usb_storage");
        Directory.Delete(shared, recursive: true);
    }
}
