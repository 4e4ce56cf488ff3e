using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Devices;

/// <summary>
/// Isochronous transfers on software devices: paced by the frame clock (driven by a fake TimeProvider, so nothing here
/// depends on how fast the machine is), and ended by cancel, reset, alternate-setting change, halt and unplug like the
/// other transfers.
/// </summary>
public class SoftwareIsoTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    private static async Task<(IsoTestDevice Device, FakeTimeProvider Time)> StreamingDeviceAsync()
    {
        var time = new FakeTimeProvider();
        var device = new IsoTestDevice(time);
        Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default));
        Assert.Equal(UsbStatus.Success, await device.SetAlternateSettingAsync(0, 1, default));
        return (device, time);
    }

    private static UsbIsoPacket[] Packets(int count, int size = IsoTestDevice.MaxPacketSize) =>
        Enumerable.Range(0, count).Select(i => new UsbIsoPacket(i * size, size)).ToArray();

    [Fact]
    public async Task High_speed_transfers_take_one_interval_per_packet_and_queue_back_to_back()
    {
        var (device, time) = await StreamingDeviceAsync();
        await using var _ = device;
        var first = new byte[8 * IsoTestDevice.MaxPacketSize];
        var second = new byte[8 * IsoTestDevice.MaxPacketSize];
        // bInterval 4 at high speed: 2^3 microframes = 1 ms per packet. The first packet gets the next interval.
        var a = device.IsoTransferAsync(IsoTestDevice.InEndpoint, first, Packets(8), default);
        var b = device.IsoTransferAsync(IsoTestDevice.InEndpoint, second, Packets(8), default);
        time.Advance(8 * Ms + TimeSpan.FromTicks(9_999));
        Assert.False(a.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        var ra = await a.WaitAsync(TestDeadline.Default);
        Assert.False(b.IsCompleted);
        time.Advance(7 * Ms);
        Assert.False(b.IsCompleted);
        time.Advance(Ms);
        var rb = await b.WaitAsync(TestDeadline.Default);

        Assert.Equal(UsbStatus.Success, ra.Status);
        var all = ra.Packets.Select((p, i) => (p, first, i)).Concat(rb.Packets.Select((p, i) => (p, second, i))).ToArray();
        for (var n = 0; n < all.Length; n++)
        {
            var (p, buffer, i) = all[n];
            Assert.Equal(UsbStatus.Success, p.Status);
            Assert.Equal(IsoTestDevice.InLength((uint)n), p.ActualLength);
            Assert.Equal(IsoTestDevice.InPacket((uint)n), buffer.AsSpan(i * IsoTestDevice.MaxPacketSize, p.ActualLength).ToArray());
        }
    }

    [Fact]
    public async Task Full_speed_intervals_are_frames_and_an_idle_endpoint_starts_in_the_next_one()
    {
        var time = new FakeTimeProvider();
        await using var device = new FullSpeedIsoDevice(time, interval: 2); // 2^(2-1) frames = 2 ms per packet
        Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default));
        var t = device.IsoTransferAsync(0x83, new byte[3 * 64], Packets(3, 64), default);
        time.Advance(7 * Ms); // interval 0 is in progress at submission: the packets get intervals 1, 2 and 3, done at 8 ms
        Assert.False(t.IsCompleted);
        time.Advance(Ms);
        Assert.Equal(UsbStatus.Success, (await t.WaitAsync(TestDeadline.Default)).Status);
        Assert.Equal([1L, 2L, 3L], device.Intervals);

        time.Advance(10 * Ms); // idle: the intervals that passed are lost; at 18 ms (interval 9) the next transfer gets interval 10
        var late = device.IsoTransferAsync(0x83, new byte[64], Packets(1, 64), default);
        time.Advance(4 * Ms);
        await late.WaitAsync(TestDeadline.Default);
        Assert.Equal(10L, device.Intervals[3]);
    }

    [Fact]
    public async Task Out_packets_are_consumed_in_order_and_oversize_or_misplaced_packets_are_refused()
    {
        var (device, time) = await StreamingDeviceAsync();
        await using var _ = device;
        var buffer = new byte[4 * IsoTestDevice.MaxPacketSize];
        new Random(3).NextBytes(buffer);
        int[] lengths = [0, 1, 100, IsoTestDevice.MaxPacketSize];
        var packets = lengths.Select((l, i) => new UsbIsoPacket(i * IsoTestDevice.MaxPacketSize, l)).ToArray();
        var t = device.IsoTransferAsync(IsoTestDevice.OutEndpoint, buffer, packets, default);
        time.Advance(5 * Ms);
        var result = await t.WaitAsync(TestDeadline.Default);
        Assert.Equal(lengths, result.Packets.Select(p => p.ActualLength));
        Assert.Equal(packets.Select(p => buffer.AsSpan(p.Offset, p.Length).ToArray()), device.Received);

        async Task<UsbStatus> Status(byte ep, int size, params UsbIsoPacket[] ps) => (await device.IsoTransferAsync(ep, new byte[size], ps, default)).Status;
        Assert.Equal(UsbStatus.Invalid, await Status(IsoTestDevice.OutEndpoint, 400, new UsbIsoPacket(0, IsoTestDevice.MaxPacketSize + 1)));
        Assert.Equal(UsbStatus.Invalid, await Status(IsoTestDevice.OutEndpoint, 100, new UsbIsoPacket(0, 60), new UsbIsoPacket(50, 10))); // overlap
        Assert.Equal(UsbStatus.Invalid, await Status(IsoTestDevice.InEndpoint, 100, new UsbIsoPacket(90, 20))); // past the buffer
        Assert.Equal(UsbStatus.Invalid, await Status(IsoTestDevice.InEndpoint, 100));
        Assert.Equal(UsbStatus.Invalid, await Status(0x85, 100, new UsbIsoPacket(0, 10))); // no such endpoint
    }

    [Fact]
    public async Task Cancel_completes_at_once_and_frees_the_intervals_it_had_claimed()
    {
        var (device, time) = await StreamingDeviceAsync();
        await using var _ = device;
        using var cts = new CancellationTokenSource();
        var t = device.IsoTransferAsync(IsoTestDevice.InEndpoint, new byte[32 * IsoTestDevice.MaxPacketSize], Packets(32), cts.Token);
        time.Advance(3 * Ms);
        cts.Cancel();
        var cancelled = await t.WaitAsync(TestDeadline.Default);
        Assert.Equal(UsbStatus.Cancelled, cancelled.Status);
        Assert.All(cancelled.Packets, p => Assert.Equal(new UsbIsoPacketResult(UsbStatus.Cancelled, 0), p));
        Assert.Equal(0u, device.InProduced);

        var next = device.IsoTransferAsync(IsoTestDevice.InEndpoint, new byte[IsoTestDevice.MaxPacketSize], Packets(1), default);
        time.Advance(2 * Ms); // interval 4, not 33
        Assert.Equal(UsbStatus.Success, (await next.WaitAsync(TestDeadline.Default)).Status);
    }

    [Fact]
    public async Task Reset_alt_change_halt_and_unplug_end_scheduled_transfers()
    {
        var (device, time) = await StreamingDeviceAsync();
        Task<UsbIsoTransferResult> Submit() => device.IsoTransferAsync(IsoTestDevice.InEndpoint, new byte[4 * IsoTestDevice.MaxPacketSize], Packets(4), default);

        var beforeAlt = Submit();
        Assert.Equal(UsbStatus.Success, await device.SetAlternateSettingAsync(0, 0, default));
        Assert.Equal(UsbStatus.Cancelled, (await beforeAlt.WaitAsync(TestDeadline.Default)).Status);
        Assert.Equal(UsbStatus.Invalid, (await Submit()).Status); // alt 0 has no iso endpoints

        await device.SetAlternateSettingAsync(0, 1, default);
        var beforeHalt = Submit();
        device.Halt(IsoTestDevice.InEndpoint);
        Assert.Equal(UsbStatus.Stall, (await beforeHalt.WaitAsync(TestDeadline.Default)).Status);
        Assert.Equal(UsbStatus.Stall, (await Submit()).Status);
        Assert.Equal(UsbStatus.Success, await device.ClearHaltAsync(IsoTestDevice.InEndpoint, default));

        var beforeReset = Submit();
        Assert.Equal(UsbStatus.Success, await device.ResetAsync(default));
        Assert.Equal(UsbStatus.Cancelled, (await beforeReset.WaitAsync(TestDeadline.Default)).Status);
        Assert.Equal(UsbStatus.Invalid, (await Submit()).Status); // unconfigured

        await device.SetConfigurationAsync(1, default);
        await device.SetAlternateSettingAsync(0, 1, default);
        var beforeUnplug = Submit();
        await device.DisposeAsync();
        Assert.Equal(UsbStatus.IoError, (await beforeUnplug.WaitAsync(TestDeadline.Default)).Status);
        Assert.Equal(UsbStatus.IoError, (await Submit()).Status);
        time.Advance(TimeSpan.FromSeconds(1)); // the clock is stopped: nothing fires after the unplug
        Assert.Equal(0u, device.InProduced);
    }

    [Fact]
    public void Iso_descriptors_carry_synchronization_usage_and_high_bandwidth_bits()
    {
        var endpoint = new UsbEndpointDefinition(0x81, UsbEndpointType.Isochronous, 1024, 1)
        {
            Synchronization = UsbIsoSynchronization.Adaptive,
            Usage = UsbIsoUsage.ImplicitFeedback,
            AdditionalTransactions = 2,
        };
        var definition = new UsbDeviceDefinition(0x1209, 0x0010, 0x0100, 0, 0, 0, 64, "m", "p", null,
            [new UsbConfigurationDefinition(1, null, 0, 100, [new UsbInterfaceDefinition(0, 0, 0xFF, 0, 0, null, [endpoint])])]);
        var config = DescriptorBuilder.Build(definition, null).Configurations[0].Span;
        var ep = config[18..25];
        Assert.Equal(0x01 | 2 << 2 | 2 << 4, ep[3]);
        Assert.Equal(1024 | 2 << 11, BinaryPrimitives.ReadUInt16LittleEndian(ep[4..]));
        Assert.Equal(3072, endpoint.MaxPayloadPerInterval);

        Assert.Throws<ArgumentException>(() => DescriptorBuilder.Build(definition with
        {
            Configurations = [new UsbConfigurationDefinition(1, null, 0, 100, [new UsbInterfaceDefinition(0, 0, 0xFF, 0, 0, null,
                [new UsbEndpointDefinition(0x81, UsbEndpointType.Bulk, 512, 0) { Synchronization = UsbIsoSynchronization.Adaptive }])])],
        }, null));
    }

    /// <summary>A full-speed device with one iso IN endpoint 0x83 that records the interval of every packet it produces.</summary>
    private sealed class FullSpeedIsoDevice : SoftwareUsbDevice
    {
        public FullSpeedIsoDevice(TimeProvider time, byte interval)
            : base(UsbSpeed.Full, DescriptorBuilder.Build(new UsbDeviceDefinition(0x1209, 0x0010, 0x0100, 0, 0, 0, 64, "m", "p", null,
                [new UsbConfigurationDefinition(1, null, 0, 100, [new UsbInterfaceDefinition(0, 0, 0xFF, 0, 0, null,
                    [new UsbEndpointDefinition(0x83, UsbEndpointType.Isochronous, 64, interval)])])]), null), "full-speed iso")
        {
            TimeProvider = time;
        }

        public List<long> Intervals { get; } = [];

        protected override UsbIsoPacketResult ProduceIsoPacket(byte endpoint, long interval, Span<byte> packet)
        {
            Intervals.Add(interval);
            return new UsbIsoPacketResult(UsbStatus.Success, packet.Length);
        }

        protected override UsbTransferResult? TryTransfer(byte endpoint, Memory<byte> buffer) => UsbTransferResult.Failed(UsbStatus.Invalid);
    }
}
