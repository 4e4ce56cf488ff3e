using UsbRedir.PowerShell.Devices;

namespace UsbRedir.Tests.Devices.Local;

public sealed class UsbDeviceIdCompleterTests
{
    private static readonly IReadOnlyList<UsbRedir.Devices.Local.UsbDeviceInfo> Devices = SysfsFixture.Enumerator().GetDevices();

    [Fact]
    public void Ids_complete_from_their_start_with_devices_before_hubs_and_say_what_each_is()
    {
        var results = UsbDeviceIdCompleter.Complete(Devices, "1.0", busIds: false);
        Assert.Equal(["1.0.0", "1.0.1", "1.0.2", "1.0"], results.Select(r => r.Text));
        Assert.Equal("1-1.1 46f4:0001 Mass Storage: QEMU QEMU USB HARDDRIVE", results[0].ToolTip);
        Assert.Equal(13, UsbDeviceIdCompleter.Complete(Devices, "", busIds: false).Count);
    }

    [Fact]
    public void Busids_complete_for_a_parameter_named_BusId_and_quotes_are_ignored()
    {
        var results = UsbDeviceIdCompleter.Complete(Devices, "'2-", busIds: true);
        Assert.Equal(["2-2", "2-4"], results.Select(r => r.Text));
        Assert.StartsWith("2.3 46f4:0001", results[1].ToolTip);
        Assert.Empty(UsbDeviceIdCompleter.Complete(Devices, "9", busIds: false));
    }
}
