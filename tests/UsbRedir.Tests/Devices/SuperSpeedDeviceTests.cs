using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Devices;

/// <summary>SuperSpeed software devices: USB 3 descriptors (companions, BOS) and bulk streams in <see cref="SoftwareUsbDevice"/>.</summary>
public sealed class SuperSpeedDeviceTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;
    private static readonly byte[] Both = [StreamsTestDevice.BulkOut, StreamsTestDevice.BulkIn];

    private static async Task<StreamsTestDevice> ConfiguredAsync()
    {
        var device = new StreamsTestDevice();
        Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default));
        return device;
    }

    private static Task<UsbTransferResult> Write(IUsbDevice d, uint stream, byte[] data) => d.StreamTransferAsync(StreamsTestDevice.BulkOut, stream, data, default);

    [Fact]
    public async Task Descriptors_are_usb3_with_companions_and_a_bos_the_device_answers()
    {
        await using var device = new StreamsTestDevice();
        var host = new UsbHostDriver(device);
        var d = await host.GetDescriptorAsync(UsbDescriptorTypes.Device, 0, 18);
        Assert.Equal(0x0300, BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(2)));
        Assert.Equal(9, d[7]); // 2^9 = 512 bytes
        Assert.Equal(UsbSpeed.Super, device.Speed);

        var config = await host.GetDescriptorAsync(UsbDescriptorTypes.Configuration, 0, 255);
        Assert.Equal(BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(2)), config.Length);
        Assert.Equal(13, config[8]); // 100 mA in 8 mA units
        // Each endpoint is followed by its companion: burst 15, 2^4 streams in alternate setting 0, none in 1.
        byte[] withStreams = [7, 5, 0x81, 2, 0x00, 0x04, 0, 6, 0x30, 15, 4, 0, 0];
        byte[] withoutStreams = [7, 5, 0x81, 2, 0x00, 0x04, 0, 6, 0x30, 15, 0, 0, 0];
        Assert.Equal(1, Occurrences(config, withStreams));
        Assert.Equal(1, Occurrences(config, withoutStreams));
        Assert.Equal(4, Occurrences(config, [6, 0x30]));

        var bos = await host.GetDescriptorAsync(UsbDescriptorTypes.Bos, 0, 5);
        Assert.Equal(new byte[] { 5, 0x0F, 22, 0, 2 }, bos);
        var full = await host.GetDescriptorAsync(UsbDescriptorTypes.Bos, 0, 22);
        Assert.Equal(new byte[] { 7, 0x10, 2, 2, 0, 0, 0 }, full[5..12]); // USB 2.0 extension, LPM
        Assert.Equal(new byte[] { 10, 0x10, 3, 0, 0x0E, 0 }, full[12..18]); // SuperSpeed: full, high, super speeds
        Assert.Equal(UsbStatus.Stall, await host.GetDescriptorStatusAsync(UsbDescriptorTypes.DeviceQualifier, 0, 10));

        // What the usbredir host role announces for it: 16 streams on both endpoints.
        Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default));
        var layout = DeviceLayout.ForActiveConfiguration(device);
        Assert.Equal(16u, layout.EndpointMaxStreams[DeviceLayout.EndpointIndex(0x81)]);
        Assert.Equal(16u, layout.EndpointMaxStreams[DeviceLayout.EndpointIndex(0x01)]);
        Assert.Equal((ushort)1024, layout.EndpointMaxPacketSize[DeviceLayout.EndpointIndex(0x01)]);
    }

    [Fact]
    public async Task Usb2_devices_stall_bos_and_a_superspeed_definition_must_say_512_byte_ep0()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        Assert.Equal(UsbStatus.Stall, await new UsbHostDriver(keyboard).GetDescriptorStatusAsync(UsbDescriptorTypes.Bos, 0, 5));
        var bad = new UsbDeviceDefinition(1, 2, 3, 0, 0, 0, 64, "m", "p", null, [new UsbConfigurationDefinition(1, null, 0, 100, [])])
        { UsbRelease = UsbDeviceDefinition.UsbRelease3 };
        Assert.Contains("bMaxPacketSize0 9", Assert.Throws<ArgumentException>(() => DescriptorBuilder.Build(bad, null)).Message);
        var streamsOnInterrupt = bad with
        {
            MaxPacketSize0 = 9,
            Configurations = [new UsbConfigurationDefinition(1, null, 0, 100,
                [new UsbInterfaceDefinition(0, 0, 0xFF, 0, 0, null, [new UsbEndpointDefinition(0x81, UsbEndpointType.Interrupt, 8, 1) { MaxStreamsExponent = 2 }])])],
        };
        Assert.Contains("only bulk endpoints have streams", Assert.Throws<ArgumentException>(() => DescriptorBuilder.Build(streamsOnInterrupt, null)).Message);
    }

    [Fact]
    public async Task Allocation_is_bounded_by_the_companion_and_refused_where_there_are_no_streams()
    {
        await using var device = new StreamsTestDevice();
        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await device.AllocateStreamsAsync(Both, 4, default)); // unconfigured
        Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default));
        Assert.Equal(new UsbStreamsResult(UsbStatus.Success, 16), await device.AllocateStreamsAsync(Both, 64, default));
        Assert.Equal([(0x01, 16), (0x81, 16)], device.StreamChanges);
        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await device.AllocateStreamsAsync(Both, 4, default)); // already allocated
        Assert.Equal(UsbStatus.Invalid, (await Write(device, 17, [1])).Status); // beyond the allocation
        Assert.Equal(UsbTransferResult.Ok(1), await Write(device, 16, [1]));
        Assert.Equal(UsbStatus.Invalid, (await Write(device, 0, [1])).Status); // no plain transfers while streams are allocated
        Assert.Equal(UsbStatus.Success, await device.FreeStreamsAsync(Both, default));
        Assert.Equal(UsbTransferResult.Ok(1), await Write(device, 0, [1]));
        Assert.Equal(UsbStatus.Invalid, await device.FreeStreamsAsync(Both, default)); // nothing left to free
        Assert.Equal(UsbStatus.Invalid, (await Write(device, 1, [1])).Status); // never allocated (any more)
        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await device.AllocateStreamsAsync(Both, 0, default));
        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await device.AllocateStreamsAsync([0x02], 4, default));

        Assert.Equal(UsbStatus.Success, await device.SetAlternateSettingAsync(0, 1, default)); // same endpoints, no streams
        Assert.Equal(new UsbStreamsResult(UsbStatus.Invalid, 0), await device.AllocateStreamsAsync(Both, 4, default));
    }

    [Fact]
    public async Task Each_stream_is_its_own_queue_and_keeps_its_own_data()
    {
        await using var device = await ConfiguredAsync();
        Assert.Equal(UsbStatus.Success, (await device.AllocateStreamsAsync(Both, 16, default)).Status);
        var in3 = new byte[64];
        var waiting3 = device.StreamTransferAsync(StreamsTestDevice.BulkIn, 3, in3, default);
        Assert.False(waiting3.IsCompleted); // nothing written to stream 3 yet

        Assert.Equal(UsbTransferResult.Ok(5), await Write(device, 5, "five!"u8.ToArray()));
        var in5 = new byte[64];
        Assert.Equal(UsbTransferResult.Ok(5), await device.StreamTransferAsync(StreamsTestDevice.BulkIn, 5, in5, default).WaitAsync(Quick));
        Assert.Equal("five!"u8.ToArray(), in5[..5]);
        Assert.False(waiting3.IsCompleted); // stream 5 went past the transfer waiting on stream 3

        Assert.Equal(UsbTransferResult.Ok(3), await Write(device, 3, [3, 3, 3]));
        Assert.Equal(UsbTransferResult.Ok(3), await waiting3.WaitAsync(Quick));
        Assert.Equal(new byte[] { 3, 3, 3 }, in3[..3]);

        using var cancel = new CancellationTokenSource();
        var waiting9 = device.StreamTransferAsync(StreamsTestDevice.BulkIn, 9, new byte[8], cancel.Token);
        cancel.Cancel();
        Assert.Equal(UsbStatus.Cancelled, (await waiting9.WaitAsync(Quick)).Status);
    }

    public static TheoryData<string> Changes => new() { "reset", "configuration", "alternate setting", "free", "halt" };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task Streams_and_their_waiting_transfers_go_with_a_reset_configuration_or_alternate_setting_change(string change)
    {
        await using var device = await ConfiguredAsync();
        Assert.Equal(UsbStatus.Success, (await device.AllocateStreamsAsync(Both, 4, default)).Status);
        var waiting = device.StreamTransferAsync(StreamsTestDevice.BulkIn, 2, new byte[8], default);
        Assert.False(waiting.IsCompleted);
        var expected = UsbStatus.Cancelled;
        switch (change)
        {
            case "reset":
                Assert.Equal(UsbStatus.Success, await device.ResetAsync(default));
                Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default));
                break;
            case "configuration":
                Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default)); // even to the same value
                break;
            case "alternate setting":
                Assert.Equal(UsbStatus.Success, await device.SetAlternateSettingAsync(0, 0, default));
                break;
            case "free":
                Assert.Equal(UsbStatus.Success, await device.FreeStreamsAsync(Both, default));
                break;
            case "halt":
                var halt = await new UsbHostDriver(device).ControlStatusAsync(0x02, 0x03, 0, StreamsTestDevice.BulkIn); // SET_FEATURE(ENDPOINT_HALT)
                Assert.Equal(UsbStatus.Success, halt);
                expected = UsbStatus.Stall;
                break;
        }
        Assert.Equal(expected, (await waiting.WaitAsync(Quick)).Status);
        if (change == "halt")
            return; // a halt keeps the allocation; the host clears it and goes on
        Assert.Equal(0, device.AllocatedStreams(StreamsTestDevice.BulkIn));
        Assert.Equal(UsbStatus.Invalid, (await Write(device, 2, [1])).Status);
        Assert.Equal(new UsbStreamsResult(UsbStatus.Success, 4), await device.AllocateStreamsAsync(Both, 4, default)); // and may be allocated afresh
    }

    private static int Occurrences(byte[] haystack, byte[] needle) =>
        Enumerable.Range(0, haystack.Length - needle.Length + 1).Count(i => haystack.AsSpan(i, needle.Length).SequenceEqual(needle));
}
