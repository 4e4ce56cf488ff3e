using System.Buffers.Binary;
using System.Text;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.MassStorage;
using UsbRedir.Sessions;
using UsbRedir.Tests.Devices;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Sessions;

/// <summary>Our usb-guest role against our usb-host role over loopback TCP: everything a virtual host controller will do.</summary>
public class GuestLoopbackTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;

    private static Task<UsbTransferResult> BulkIn(IUsbDevice d, byte[] buffer, CancellationToken ct = default) =>
        d.TransferAsync(0x81, buffer, ct);

    [Fact]
    public async Task Descriptors_configuration_and_alt_settings_match_the_exported_device()
    {
        var device = new LoopbackTestDevice();
        await using var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();

        Assert.Equal(LoopbackTestDevice.Descriptor, remote.DeviceDescriptor.ToArray());
        Assert.Equal(LoopbackTestDevice.Configuration, Assert.Single(remote.ConfigurationDescriptors).ToArray());
        Assert.Equal(UsbSpeed.High, remote.Speed);
        Assert.Equal((ushort)0x1234, remote.VendorId);
        Assert.Equal(0, remote.ActiveConfiguration);
        Assert.Null(remote.Product); // the test device stalls string requests
        Assert.Contains("1234:5678", remote.Description);
        Assert.Same(remote, loop.Guest.Device);

        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default).WaitAsync(Quick));
        Assert.Equal(1, remote.ActiveConfiguration);
        Assert.Equal(1, device.ActiveConfiguration);
        Assert.Equal(UsbEndpointType.Bulk, remote.GetEndpointType(0x81));
        Assert.Equal(UsbEndpointType.Interrupt, remote.GetEndpointType(0x02));

        Assert.Equal(UsbStatus.Success, await remote.SetAlternateSettingAsync(0, 0, default).WaitAsync(Quick));
        Assert.Equal(UsbStatus.Stall, await remote.SetAlternateSettingAsync(0, 1, default).WaitAsync(Quick));
        Assert.Equal(0, remote.GetAlternateSetting(0));
        Assert.Equal(UsbStatus.Stall, await remote.SetConfigurationAsync(5, default).WaitAsync(Quick));
        Assert.Equal(1, remote.ActiveConfiguration);
        // SET_CONFIGURATION as a control transfer (as a kernel HCD sees it) goes the same way.
        var viaControl = await remote.ControlTransferAsync(new UsbSetupPacket(0x00, 0x09, 0, 0, 0), Memory<byte>.Empty, default).WaitAsync(Quick);
        Assert.Equal(UsbTransferResult.Ok(0), viaControl);
        Assert.Equal(0, remote.ActiveConfiguration);
        Assert.Equal(0, device.ActiveConfiguration);
        Assert.Equal(UsbEndpointType.Invalid, remote.GetEndpointType(0x81));
    }

    [Fact]
    public async Task Control_bulk_and_interrupt_transfers_move_data_both_ways()
    {
        var device = new LoopbackTestDevice();
        await using var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default));

        var descriptor = new byte[64];
        var control = await remote.ControlTransferAsync(new UsbSetupPacket(0x80, 6, 0x0100, 0, 64), descriptor, default).WaitAsync(Quick);
        Assert.Equal(UsbTransferResult.Ok(18), control);
        Assert.Equal(LoopbackTestDevice.Descriptor, descriptor[..18]);
        var vendorOut = await remote.ControlTransferAsync(new UsbSetupPacket(0x40, 0x42, 1, 2, 4), new byte[] { 1, 2, 3, 4 }, default);
        Assert.Equal(UsbTransferResult.Ok(4), vendorOut);
        Assert.Equal(new UsbSetupPacket(0x40, 0x42, 1, 2, 4), device.ControlRequests[^1]);
        var stalled = await remote.ControlTransferAsync(new UsbSetupPacket(0xC0, 0x99, 0, 0, 8), new byte[8], default);
        Assert.Equal(UsbStatus.Stall, stalled.Status);

        var data = new byte[200_000];
        new Random(3).NextBytes(data);
        Assert.Equal(UsbTransferResult.Ok(data.Length), await remote.TransferAsync(0x01, data, default).WaitAsync(Quick));
        var back = new byte[300_000];
        Assert.Equal(UsbTransferResult.Ok(data.Length), await BulkIn(remote, back).WaitAsync(Quick));
        Assert.Equal(data, back[..data.Length]);

        device.QueueInterrupt(0xA1);
        device.QueueInterrupt(0xA2);
        var report = new byte[8];
        Assert.Equal(UsbTransferResult.Ok(1), await remote.TransferAsync(0x82, report, default).WaitAsync(Quick));
        Assert.Equal(0xA1, report[0]);
        Assert.Equal(UsbTransferResult.Ok(1), await remote.TransferAsync(0x82, report, default).WaitAsync(Quick));
        Assert.Equal(0xA2, report[0]);
        var waiting = remote.TransferAsync(0x82, report, default);
        Assert.NotSame(waiting, await Task.WhenAny(waiting, Task.Delay(100)));
        device.QueueInterrupt(0xA3);
        Assert.Equal(UsbTransferResult.Ok(1), await waiting.WaitAsync(Quick));
        Assert.Equal(0xA3, report[0]);

        Assert.Equal(UsbTransferResult.Ok(3), await remote.TransferAsync(0x02, new byte[] { 7, 8, 9 }, default).WaitAsync(Quick));
        Assert.Equal(new byte[] { 7, 8, 9 }, Assert.Single(device.InterruptOut));
        Assert.Equal(UsbStatus.Invalid, (await remote.TransferAsync(0x05, new byte[4], default)).Status); // no such endpoint
        Assert.Equal(0, loop.Guest.PendingRequestCount);
        Assert.Equal(1, loop.Guest.Log.ErrorCount); // only the refused endpoint 0x05 was logged as an error
    }

    [Fact]
    public async Task Cancelled_transfers_complete_once_and_the_host_forgets_them()
    {
        var device = new LoopbackTestDevice();
        await using var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default));

        using (var cts = new CancellationTokenSource())
        {
            var pending = Enumerable.Range(0, 5).Select(_ => BulkIn(remote, new byte[512], cts.Token)).ToArray();
            await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 5, "the host has the 5 reads pending");
            cts.Cancel();
            foreach (var t in pending)
                Assert.Equal(UsbStatus.Cancelled, (await t.WaitAsync(Quick)).Status);
        }
        await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 0, "the host forgot the cancelled reads");
        var interrupt = new CancellationTokenSource();
        var waitingInterrupt = remote.TransferAsync(0x82, new byte[8], interrupt.Token);
        interrupt.Cancel();
        Assert.Equal(UsbStatus.Cancelled, (await waitingInterrupt.WaitAsync(Quick)).Status);

        // Races: data arrives while the read is being cancelled. Each read completes exactly once, either way, and data
        // comes out in order and never twice (a cancelled read leaves its byte for the next one).
        var seen = new List<byte>();
        var cancelled = 0;
        for (var i = 0; i < 40; i++)
        {
            using var cts = new CancellationTokenSource();
            var buffer = new byte[512];
            var read = BulkIn(remote, buffer, cts.Token);
            var write = remote.TransferAsync(0x01, new byte[] { (byte)i }, default);
            if (i % 2 == 0) await Task.Yield();
            cts.Cancel();
            var result = await read.WaitAsync(Quick);
            Assert.Equal(UsbTransferResult.Ok(1), await write.WaitAsync(Quick));
            Assert.True(result.Status is UsbStatus.Cancelled or UsbStatus.Success, result.ToString());
            if (result.Status == UsbStatus.Success)
                seen.Add(buffer[0]);
            else
                cancelled++;
        }
        using (var drain = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            while (true)
            {
                var buffer = new byte[512];
                var result = await BulkIn(remote, buffer, drain.Token);
                if (result.Status != UsbStatus.Success)
                    break;
                seen.Add(buffer[0]);
            }
        }
        Assert.Equal(seen.Order().Distinct(), seen);
        Assert.InRange(seen.Count, 40 - cancelled, 40);
        await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 0 && loop.Guest.PendingRequestCount == 0, "every read is forgotten on both sides");
    }

    [Fact]
    public async Task Reset_cancels_pending_transfers_and_returns_the_device_to_its_default_state()
    {
        var device = new LoopbackTestDevice();
        await using var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default));
        var pending = BulkIn(remote, new byte[512]);
        var pendingInterrupt = remote.TransferAsync(0x82, new byte[8], default);
        await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 1, "the host has the read pending");

        Assert.Equal(UsbStatus.Success, await remote.ResetAsync(default).WaitAsync(Quick));
        Assert.Equal(UsbStatus.Cancelled, (await pending.WaitAsync(Quick)).Status);
        Assert.Equal(UsbStatus.Cancelled, (await pendingInterrupt.WaitAsync(Quick)).Status);
        Assert.Equal(1, device.Resets);
        Assert.Equal(0, remote.ActiveConfiguration); // the test device comes back unconfigured, and the guest read that back

        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default));
        Assert.Equal(UsbTransferResult.Ok(2), await remote.TransferAsync(0x01, new byte[] { 5, 6 }, default).WaitAsync(Quick));
        var buffer = new byte[512];
        Assert.Equal(UsbTransferResult.Ok(2), await BulkIn(remote, buffer).WaitAsync(Quick));
        device.QueueInterrupt(0x77);
        Assert.Equal(UsbTransferResult.Ok(1), await remote.TransferAsync(0x82, buffer, default).WaitAsync(Quick)); // receiving restarts
        Assert.Equal(0x77, buffer[0]);
    }

    [Fact]
    public async Task A_released_device_is_acknowledged_and_its_transfers_fail()
    {
        var device = new LoopbackTestDevice();
        await using var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default));
        var pending = BulkIn(remote, new byte[512]);
        await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 1, "the host has the read pending");

        await loop.Host.ReleaseDeviceAsync(TimeSpan.FromSeconds(5)).WaitAsync(TestDeadline.Default);
        Assert.Equal(HostDeviceState.Released, loop.Host.DeviceState);
        Assert.DoesNotContain(loop.Host.Log.Entries, e => e.Message.Contains("did not acknowledge"));
        Assert.True(remote.Gone.IsCancellationRequested);
        // The host answers what it cancels before it sends device_disconnect; either way the transfer has failed.
        Assert.Contains((await pending.WaitAsync(Quick)).Status, new[] { UsbStatus.Cancelled, UsbStatus.IoError });
        Assert.Equal(UsbStatus.IoError, (await remote.TransferAsync(0x01, new byte[1], default)).Status);
        Assert.Equal(UsbStatus.IoError, await remote.SetConfigurationAsync(1, default));
        Assert.Null(loop.Guest.Device);
        Assert.Equal("the peer disconnected it", remote.GoneReason);
        Assert.False(loop.Guest.Completion.IsCompleted); // the connection stays up for the next device
    }

    [Fact]
    public async Task A_peer_killed_mid_transfer_fails_every_pending_transfer_and_other_connections_carry_on()
    {
        var victimDevice = new LoopbackTestDevice();
        var otherDevice = new LoopbackTestDevice();
        await using var victim = await GuestLoopback.StartAsync(victimDevice);
        await using var other = await GuestLoopback.StartAsync(otherDevice);
        var remote = await victim.RemoteAsync();
        var otherRemote = await other.RemoteAsync();
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default));
        Assert.Equal(UsbStatus.Success, await otherRemote.SetConfigurationAsync(1, default));

        victimDevice.ControlGate = new TaskCompletionSource(); // control transfers now hang in the device
        var pending = new List<Task<UsbTransferResult>>
        {
            BulkIn(remote, new byte[512]),
            BulkIn(remote, new byte[4096]),
            remote.TransferAsync(0x82, new byte[8], default),
            remote.ControlTransferAsync(new UsbSetupPacket(0x80, 6, 0x0100, 0, 18), new byte[18], default),
        };
        await Eventually.TrueAsync(() => victim.Host.PendingTransferCount == 3, "the victim host has the three transfers pending");

        victim.Host.Connection.Close(new IOException("killed by the test")); // the host process dies
        foreach (var t in pending)
            Assert.Equal(UsbStatus.IoError, (await t.WaitAsync(Quick)).Status);
        Assert.True(remote.Gone.IsCancellationRequested);
        await victim.Guest.Completion.WaitAsync(Quick);
        Assert.Null(await victim.Guest.NextDeviceAsync(default).WaitAsync(Quick));

        // The other connection is untouched.
        Assert.Equal(UsbTransferResult.Ok(3), await otherRemote.TransferAsync(0x01, new byte[] { 1, 2, 3 }, default).WaitAsync(Quick));
        Assert.Equal(UsbTransferResult.Ok(3), await BulkIn(otherRemote, new byte[512]).WaitAsync(Quick));
        Assert.False(otherRemote.Gone.IsCancellationRequested);

        // And the other way round: the guest dies while the host has transfers running on its device.
        var hanging = BulkIn(otherRemote, new byte[512]);
        await Eventually.TrueAsync(() => other.Host.PendingTransferCount == 1, "the other host has the read pending");
        other.Guest.Connection.Close(new IOException("killed by the test"));
        await other.Host.Completion.WaitAsync(Quick);
        Assert.Equal(0, other.Host.PendingTransferCount);
        Assert.Equal(UsbStatus.IoError, (await hanging.WaitAsync(Quick)).Status);
    }

    [Fact]
    public async Task Scsi_over_the_guest_role_reads_the_disk_image_sector_by_sector()
    {
        using var image = new TestImage(2048 * 512L, seed: 11);
        await using var disk = VirtualDevices.CreateDisk(image.Path);
        await using var loop = await GuestLoopback.StartAsync(disk);
        var remote = await loop.RemoteAsync();
        Assert.Equal("UsbRedir Virtual Disk", remote.Product);
        Assert.Equal(VirtualDevices.Manufacturer, remote.Manufacturer);
        Assert.Equal(disk.DeviceDescriptor.ToArray(), remote.DeviceDescriptor.ToArray());

        var host = new UsbHostDriver(remote);
        var enumeration = await host.EnumerateAsync();
        Assert.Equal(disk.ConfigurationDescriptors[0].ToArray(), enumeration.Configuration);
        var bot = new BotHost(host);

        var inquiry = await bot.RunAsync(Cdb.Inquiry(36), 36, dataIn: true);
        Assert.Equal(CommandStatus.Passed, inquiry.Csw.Status);
        Assert.Equal("UsbRedir", Encoding.ASCII.GetString(inquiry.Data, 8, 8));
        var capacity = await bot.RunAsync(Cdb.ReadCapacity10(), 8, dataIn: true);
        Assert.Equal(2047u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data.AsSpan(4)));

        foreach (var (lba, blocks) in new[] { (0u, (ushort)1), (100u, (ushort)64), (2040u, (ushort)8) })
        {
            var read = await bot.RunAsync(Cdb.Read10(lba, blocks), blocks * 512u, dataIn: true, chunk: 16384);
            Assert.Equal(CommandStatus.Passed, read.Csw.Status);
            Assert.Equal(image.Contents.AsSpan((int)lba * 512, blocks * 512).ToArray(), read.Data);
        }

        var sector = Enumerable.Range(0, 512).Select(i => (byte)(i * 7)).ToArray();
        var write = await bot.RunAsync(Cdb.Write10(5, 1), 512, dataIn: false, sector);
        Assert.Equal(CommandStatus.Passed, write.Csw.Status);
        Assert.Equal(sector, image.RawRead(5 * 512, 512));
    }
}
