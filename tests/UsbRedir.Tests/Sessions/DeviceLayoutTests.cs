using UsbRedir.Devices;
using UsbRedir.Sessions;

namespace UsbRedir.Tests.Sessions;

public class DeviceLayoutTests
{
    // Config with interface 0 (alt 0: bulk 0x81/0x02; alt 1: iso 0x83 high-bandwidth) and interface 1 (HID, int 0x84).
    private static readonly byte[] Config =
    [
        9, 2, 0, 0, 2, 1, 0, 0x80, 50,
        9, 4, 0, 0, 2, 8, 6, 0x50, 0,
        7, 5, 0x81, 2, 0x00, 0x02, 0,
        7, 5, 0x02, 2, 0x00, 0x02, 0,
        9, 4, 0, 1, 1, 0xFF, 0, 0, 0,
        7, 5, 0x83, 1, 0x00, 0x14, 1, // 0x1400: 1024 bytes, 2 extra transactions per microframe
        9, 4, 1, 0, 1, 3, 1, 1, 0,
        9, 0x21, 0x11, 1, 0, 1, 0x22, 63, 0, // HID class descriptor, skipped
        7, 5, 0x84, 3, 8, 0, 10,
    ];

    [Fact]
    public void Reads_interfaces_and_endpoints_of_the_selected_alternates()
    {
        var layout = DeviceLayout.FromConfiguration(Config, _ => 0, UsbSpeed.High);
        Assert.Equal([new(0, 0, 8, 6, 0x50), new(1, 0, 3, 1, 1)], layout.Interfaces);
        Assert.Equal(UsbEndpointType.Control, layout.EndpointType[0]);
        Assert.Equal(UsbEndpointType.Control, layout.EndpointType[16]);
        Assert.Equal(0, layout.EndpointMaxPacketSize[16]); // EP0 has no size in ep_info, as libusbredirhost announces it (UsbHostEdgeVmTests)
        Assert.Equal(UsbEndpointType.Bulk, layout.EndpointType[17]);
        Assert.Equal(UsbEndpointType.Bulk, layout.EndpointType[2]);
        Assert.Equal(512, layout.EndpointMaxPacketSize[2]);
        Assert.Equal(UsbEndpointType.Invalid, layout.EndpointType[19]); // 0x83 belongs to alt 1
        Assert.Equal(UsbEndpointType.Interrupt, layout.EndpointType[20]);
        Assert.Equal(10, layout.EndpointInterval[20]);
        Assert.Equal(1, layout.EndpointInterface[20]);
        Assert.Equal(UsbEndpointType.Invalid, layout.EndpointType[5]);
    }

    [Fact]
    public void High_bandwidth_iso_counts_extra_transactions_at_high_speed_only()
    {
        var high = DeviceLayout.FromConfiguration(Config, i => i == 0 ? (byte)1 : (byte)0, UsbSpeed.High);
        Assert.Equal(UsbEndpointType.Isochronous, high.EndpointType[19]);
        Assert.Equal(1024 * 3, high.EndpointMaxPacketSize[19]);
        Assert.Equal(UsbEndpointType.Invalid, high.EndpointType[17]);
        Assert.Equal(new DeviceLayout.InterfaceEntry(0, 1, 0xFF, 0, 0), high.Interfaces[0]);
        var full = DeviceLayout.FromConfiguration(Config, i => i == 0 ? (byte)1 : (byte)0, UsbSpeed.Full);
        Assert.Equal(1024, full.EndpointMaxPacketSize[19]);
    }

    [Fact]
    public void Stops_at_a_corrupt_descriptor_without_reading_past_the_end()
    {
        var broken = Config.ToArray();
        broken[18 + 7] = 0; // endpoint 0x02's bLength = 0 → walk ends after 0x81
        var layout = DeviceLayout.FromConfiguration(broken, _ => 0, UsbSpeed.High);
        Assert.Equal(UsbEndpointType.Bulk, layout.EndpointType[17]);
        Assert.Equal(UsbEndpointType.Invalid, layout.EndpointType[2]);
        var truncated = DeviceLayout.FromConfiguration(Config.AsSpan(0, 30), _ => 0, UsbSpeed.High);
        Assert.Single(truncated.Interfaces);
    }

    [Theory]
    [InlineData(0x00, 0)]
    [InlineData(0x0F, 15)]
    [InlineData(0x80, 16)]
    [InlineData(0x81, 17)]
    [InlineData(0x8F, 31)]
    public void Endpoint_index_mapping_round_trips(byte address, int index)
    {
        Assert.Equal(index, DeviceLayout.EndpointIndex(address));
        Assert.Equal(address, DeviceLayout.EndpointAddress(index));
    }

    [Fact]
    public void Superspeed_companion_sets_max_streams_for_bulk()
    {
        byte[] ss =
        [
            9, 2, 0, 0, 1, 1, 0, 0x80, 50,
            9, 4, 0, 0, 1, 8, 6, 0x62, 0,
            7, 5, 0x81, 2, 0x00, 0x04, 0,
            6, 0x30, 15, 4, 0, 0, // 2^4 = 16 streams
        ];
        var layout = DeviceLayout.FromConfiguration(ss, _ => 0, UsbSpeed.Super);
        Assert.Equal(16u, layout.EndpointMaxStreams[17]);
        Assert.Equal(1024, layout.EndpointMaxPacketSize[17]);
    }
}
