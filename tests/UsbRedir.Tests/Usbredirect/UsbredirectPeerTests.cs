using System.Buffers.Binary;
using System.Text;
using UsbRedir.Devices.Software.MassStorage;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.Devices;
using UsbRedir.Tests.Server;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Usbredirect;

/// <summary>
/// usbredirect, the reference usb-host, as the peer of our usb-guest role. Inside a Debian 6.1 guest it exports QEMU's
/// emulated usb-storage (backed by an image of known random bytes) to our server (<see cref="UsbredirectHarness"/>),
/// whose sink reads the descriptors and sectors through SCSI.
/// </summary>
public sealed class UsbredirectPeerTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (qemu's outgoing chardev needs a fixed port).</summary>
    private const int FirstPort = 47100, LastPort = 47199;

    private const int Blocks = 8192; // 4 MiB

    [UsbredirectVmFact]
    public async Task Our_server_reads_descriptors_and_sectors_that_usbredirect_exports()
    {
        var (shared, image, content) = await UsbredirectHarness.RandomDiskImageAsync("stick.img", Blocks, 1138);

        await UsbredirectHarness.RunAsync(output, (FirstPort, LastPort), shared, "46f4:0001",
            ["-drive", $"if=none,id=stick,format=raw,readonly=on,file={image}", "-device", "usb-storage,bus=xhci.0,drive=stick"],
            async (connection, device) =>
        {
            Assert.Equal(0x46f4, device.VendorId);
            Assert.Equal(0x0001, device.ProductId);
            Assert.Equal("QEMU USB HARDDRIVE", device.Product);
            Assert.Equal(18, device.DeviceDescriptor.Length);
            var configuration = Assert.Single(device.ConfigurationDescriptors).ToArray();
            Assert.Equal(BinaryPrimitives.ReadUInt16LittleEndian(configuration.AsSpan(2)), configuration.Length);
            Assert.Contains(new byte[] { 9, 4, 0, 0, 2, 0x08, 0x06, 0x50 }, Windows(configuration, 8)); // BOT mass storage interface

            var host = new UsbHostDriver(device);
            var enumeration = await host.EnumerateAsync();
            Assert.Equal(device.DeviceDescriptor.ToArray(), enumeration.Device);
            Assert.Equal(configuration, enumeration.Configuration);
            var bot = new BotHost(host);
            var inquiry = await bot.RunAsync(Cdb.Inquiry(36), 36, dataIn: true);
            Assert.Equal(CommandStatus.Passed, inquiry.Csw.Status);
            Assert.Equal("QEMU", Encoding.ASCII.GetString(inquiry.Data, 8, 8).Trim());
            await TestUnitReadyAsync(bot);
            var capacity = await bot.RunAsync(Cdb.ReadCapacity10(), 8, dataIn: true);
            Assert.Equal(CommandStatus.Passed, capacity.Csw.Status);
            Assert.Equal((uint)Blocks - 1, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data));
            Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data.AsSpan(4)));
            foreach (var (lba, count) in new[] { (0u, (ushort)8), (4096u, (ushort)256), ((uint)Blocks - 16, (ushort)16) })
            {
                var read = await bot.RunAsync(Cdb.Read10(lba, count), count * 512u, dataIn: true, chunk: 65536);
                Assert.Equal(CommandStatus.Passed, read.Csw.Status);
                Assert.True(content.AsSpan((int)lba * 512, count * 512).SequenceEqual(read.Data), $"sectors {lba}+{count} differ from the image");
            }
            output.WriteLine($"read OK; {connection.BytesReceived} bytes received, {connection.TransfersSent} transfers sent");
        });
        Directory.Delete(shared, recursive: true);
    }

    /// <summary>A freshly reset disk reports UNIT ATTENTION once; Linux retries TEST UNIT READY until it passes.</summary>
    private static async Task TestUnitReadyAsync(BotHost bot)
    {
        for (var i = 0; i < 5; i++)
        {
            var ready = await bot.RunAsync(Cdb.TestUnitReady(), 0, dataIn: false);
            if (ready.Csw.Status == CommandStatus.Passed)
                return;
            await bot.RequestSenseAsync();
        }
        throw new Xunit.Sdk.XunitException("the disk never became ready");
    }

    private static IEnumerable<byte[]> Windows(byte[] bytes, int size) =>
        Enumerable.Range(0, Math.Max(0, bytes.Length - size + 1)).Select(i => bytes[i..(i + size)]);
}

/// <summary>A VM fact that also needs usbredirect and socat (in the host root the guest shares).</summary>
public sealed class UsbredirectVmFactAttribute : FactAttribute
{
    public UsbredirectVmFactAttribute()
    {
        var missing = new[] { GuestVm.Missing, Peers.HasCommand("usbredirect") ? null : "usbredirect", Peers.HasCommand("socat") ? null : "socat" }
            .Where(m => m is not null).ToArray();
        Skip = Peers.SkipUnless(missing.Length == 0, string.Join(", ", missing));
    }
}
