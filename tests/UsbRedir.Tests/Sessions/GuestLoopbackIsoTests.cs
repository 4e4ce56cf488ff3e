using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// Isochronous streams end to end between our two roles over loopback TCP: our usb-guest (RemoteUsbDevice) reads and writes
/// iso endpoints of <see cref="IsoTestDevice"/>, exported by our usb-host session. Both sides run on the real clock, as
/// they would in use; the checks are on content and order, which no timing can excuse.
/// </summary>
public class GuestLoopbackIsoTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Quick = TestDeadline.Default;
    private const int PacketsPerTransfer = 8, TransfersInFlight = 4, Transfers = 40;

    private static async Task<(GuestLoopback Loop, RemoteUsbDevice Remote, IsoTestDevice Device)> StartAsync()
    {
        var device = new IsoTestDevice();
        var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default).WaitAsync(Quick));
        Assert.Equal(UsbStatus.Success, await remote.SetAlternateSettingAsync(0, 1, default).WaitAsync(Quick));
        Assert.Equal(UsbEndpointType.Isochronous, remote.GetEndpointType(IsoTestDevice.InEndpoint));
        return (loop, remote, device);
    }

    private static UsbIsoPacket[] Packets() =>
        Enumerable.Range(0, PacketsPerTransfer).Select(i => new UsbIsoPacket(i * IsoTestDevice.MaxPacketSize, IsoTestDevice.MaxPacketSize)).ToArray();

    [Fact]
    public async Task Iso_in_packets_of_the_device_reach_our_guest_whole_and_in_order()
    {
        var (loop, remote, device) = await StartAsync();
        await using var _ = loop;
        var received = new List<byte[]>();
        var pending = new Queue<(byte[] Buffer, Task<UsbIsoTransferResult> Transfer)>();
        for (var t = 0; t < Transfers; t++)
        {
            var buffer = new byte[PacketsPerTransfer * IsoTestDevice.MaxPacketSize];
            pending.Enqueue((buffer, remote.IsoTransferAsync(IsoTestDevice.InEndpoint, buffer, Packets(), default)));
            if (pending.Count == TransfersInFlight || t == Transfers - 1)
            {
                while (pending.Count > (t == Transfers - 1 ? 0 : TransfersInFlight - 1))
                {
                    var (done, transfer) = pending.Dequeue();
                    var result = await transfer.WaitAsync(Quick);
                    Assert.Equal(UsbStatus.Success, result.Status);
                    for (var i = 0; i < result.Packets.Count; i++)
                    {
                        Assert.Equal(UsbStatus.Success, result.Packets[i].Status);
                        if (result.Packets[i].ActualLength > 0)
                            received.Add(done.AsSpan(i * IsoTestDevice.MaxPacketSize, result.Packets[i].ActualLength).ToArray());
                    }
                }
            }
        }

        // Every packet that arrived is exactly the one the device produced under its number, and numbers only go up.
        var numbers = received.Select(p => BinaryPrimitives.ReadUInt32LittleEndian(p)).ToArray();
        Assert.All(received, p => Assert.Equal(IsoTestDevice.InPacket(BinaryPrimitives.ReadUInt32LittleEndian(p)), p));
        Assert.Equal(numbers.Order().Distinct(), numbers);
        Assert.Equal(0u, numbers[0]);
        // Empty packets are allowed only where the stream had not caught up (its start): most of the transfers' time carried data.
        output.WriteLine($"IN: {received.Count} of {Transfers * PacketsPerTransfer} packets carried data, numbers {numbers[0]}..{numbers[^1]}");
        Assert.True(received.Count >= Transfers * PacketsPerTransfer / 2, $"only {received.Count} of {Transfers * PacketsPerTransfer} packets carried data");
        Assert.Equal(0, loop.Guest.Log.ErrorCount);
    }

    [Fact]
    public async Task Iso_out_packets_of_our_guest_reach_the_device_whole_and_in_order()
    {
        var (loop, remote, device) = await StartAsync();
        await using var _ = loop;
        var pending = new Queue<Task<UsbIsoTransferResult>>();
        var sent = 0;
        for (var t = 0; t < Transfers; t++)
        {
            var buffer = new byte[PacketsPerTransfer * IsoTestDevice.MaxPacketSize];
            for (var i = 0; i < PacketsPerTransfer; i++, sent++)
            {
                var packet = buffer.AsSpan(i * IsoTestDevice.MaxPacketSize, IsoTestDevice.MaxPacketSize);
                BinaryPrimitives.WriteInt32LittleEndian(packet, sent);
                packet[4..].Fill((byte)(sent * 13));
            }
            pending.Enqueue(remote.IsoTransferAsync(IsoTestDevice.OutEndpoint, buffer, Packets(), default));
            if (pending.Count == TransfersInFlight)
                Assert.All((await pending.Dequeue().WaitAsync(Quick)).Packets, p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Success, IsoTestDevice.MaxPacketSize), p));
        }
        while (pending.Count > 0)
            Assert.Equal(UsbStatus.Success, (await pending.Dequeue().WaitAsync(Quick)).Status);

        // The host plays the stream out once half its ring is filled; let what it holds reach the device.
        await Eventually.TrueAsync(() => device.Received.Count >= sent / 2, "the device has consumed half the stream");
        var received = device.Received;
        var numbers = received.Select(p => BinaryPrimitives.ReadInt32LittleEndian(p)).ToArray();
        Assert.All(received, p =>
        {
            var n = BinaryPrimitives.ReadInt32LittleEndian(p);
            Assert.Equal(IsoTestDevice.MaxPacketSize, p.Length);
            Assert.All(p[4..], b => Assert.Equal((byte)(n * 13), b));
        });
        Assert.Equal(numbers.Order().Distinct(), numbers);
        output.WriteLine($"OUT: {numbers.Length} of {sent} packets reached the device");
        Assert.Equal(0, numbers[0]);
        Assert.True(numbers.Length >= sent / 2, $"only {numbers.Length} of {sent} packets reached the device");
        Assert.Equal(0, loop.Guest.Log.ErrorCount);
    }
}
