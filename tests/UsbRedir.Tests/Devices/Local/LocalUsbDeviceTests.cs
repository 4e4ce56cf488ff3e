using UsbRedir.Devices.Local;

namespace UsbRedir.Tests.Devices.Local;

/// <summary>
/// Opening local devices on this machine through the real libusb: the refusals that need no device. Devices themselves
/// are exercised in a guest with qemu's emulated ones (<see cref="Vm.LocalDeviceVmTests"/>).
/// </summary>
public sealed class LocalUsbDeviceTests
{
    [Fact]
    public async Task A_root_hub_is_refused_before_anything_is_opened()
    {
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => LocalUsbDevice.OpenAsync(UsbPortPath.Parse("usb1")));
        Assert.Equal("UsbDeviceIsRootHub", e.ErrorId);
        Assert.Contains("1.0", e.RecommendedAction);
    }

    [Fact]
    public async Task A_port_with_no_device_says_so_and_stays_free()
    {
        // Bus 255 port 7.7: no machine this runs on has that many buses.
        var path = UsbPortPath.Parse("255-7.7");
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => LocalUsbDevice.OpenAsync(path));
        Assert.Equal("UsbDeviceNotFound", e.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains("255.6.6 (busid 255-7.7)", e.Message);
        Assert.False(LocalUsbDevice.IsExported(path));
        // The failed open released the port: a second attempt fails the same way, not as "in use".
        Assert.Equal("UsbDeviceNotFound", (await Assert.ThrowsAsync<UsbRedirException>(() => LocalUsbDevice.OpenAsync(path))).ErrorId);
    }

    [Fact]
    public void Libusb_loads_from_the_debian_package() => LibUsb.EnsureLoaded();
}
