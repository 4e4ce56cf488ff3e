using UsbRedir.Devices.Local;

namespace UsbRedir.Tests.Devices.Local;

public sealed class UsbPortPathTests
{
    [Theory]
    [InlineData("2.0", 2, new byte[] { 1 }, "2.0", "2-1")]
    [InlineData("2-1", 2, new byte[] { 1 }, "2.0", "2-1")]
    [InlineData("2.0.2", 2, new byte[] { 1, 3 }, "2.0.2", "2-1.3")]
    [InlineData("2-1.3", 2, new byte[] { 1, 3 }, "2.0.2", "2-1.3")]
    [InlineData("1-10.4.2", 1, new byte[] { 10, 4, 2 }, "1.9.3.1", "1-10.4.2")]
    [InlineData(" 3.14 ", 3, new byte[] { 15 }, "3.14", "3-15")]
    [InlineData("2", 2, new byte[0], "2", "usb2")]
    [InlineData("usb2", 2, new byte[0], "2", "usb2")]
    public void Both_spellings_name_the_same_place(string text, int bus, byte[] ports, string id, string busId)
    {
        var path = UsbPortPath.Parse(text);
        Assert.Equal(bus, path.Bus);
        Assert.Equal(ports, path.Ports);
        Assert.Equal(id, path.Id);
        Assert.Equal(busId, path.BusId);
        Assert.Equal(path, UsbPortPath.Parse(path.BusId));
        Assert.Equal(path, UsbPortPath.Parse(path.Id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0.1")]        // bus 0 does not exist
    [InlineData("2-0")]        // sysfs ports are 1-based
    [InlineData("2.-1")]
    [InlineData("2.255")]      // 0-based 255 is port 256
    [InlineData("2.x")]
    [InlineData("0781:5567")]  // a VID:PID, not a place
    [InlineData("2.0.0.0.0.0.0.0.0")] // 8 ports deep
    [InlineData("2-")]
    [InlineData("usb")]
    [InlineData("+2.0")]
    [InlineData("0x2.0")]
    public void Anything_else_is_refused_with_both_forms_in_the_fix(string text)
    {
        Assert.False(UsbPortPath.TryParse(text, out _));
        var e = Assert.Throws<UsbRedirException>(() => UsbPortPath.Parse(text));
        Assert.Equal("UsbDeviceIdInvalid", e.ErrorId);
        Assert.Contains("2.0", e.RecommendedAction);
        Assert.Contains("2-1", e.RecommendedAction);
    }

    [Fact]
    public void Parent_and_child_walk_the_hub_chain()
    {
        var device = UsbPortPath.Parse("2-1.3");
        Assert.Equal("2-1", device.Parent!.BusId);
        Assert.True(device.Parent.Parent!.IsRootHub);
        Assert.Null(device.Parent.Parent.Parent);
        Assert.Equal(device, device.Parent.Child(3));
    }
}
