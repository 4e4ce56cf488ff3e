using UsbRedir.Devices;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Devices.Software.MassStorage;
using UsbRedir.Sessions;
using UsbRedir.Tests.Devices;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.PowerShell;

/// <summary>New-UsbVirtualDevice's work once PowerShell has bound its parameters (Devices/VirtualDeviceFactory).</summary>
public class VirtualDeviceFactoryTests
{
    private const string Factory = "UsbRedir.PowerShell.Devices.VirtualDeviceFactory";

    /// <summary>The context the devices are listed in (the module passes its own: removing it closes them).</summary>
    private readonly UsbRedirContext _context = new();

    private MassStorageDevice CreateDisk(string path, bool readOnly, UsbSpeed? speed) =>
        (MassStorageDevice)ModuleInternals.Call(Factory, "CreateDisk", _context, path, readOnly, speed)!;

    private BootKeyboard CreateKeyboard(UsbSpeed? speed, string? keys, TimeSpan? delay) =>
        (BootKeyboard)ModuleInternals.Call(Factory, "CreateKeyboard", _context, speed, keys, delay)!;

    [Fact]
    public async Task Disks_default_to_high_speed_and_honour_read_only()
    {
        using var image = new TestImage(64 * 1024);
        await using (var disk = CreateDisk(image.Path, readOnly: false, speed: null))
        {
            Assert.Equal(UsbSpeed.High, disk.Speed);
            Assert.False(disk.ReadOnly);
            Assert.Equal(image.Path, disk.ImagePath);
        }
        await using (var slow = CreateDisk(image.Path, readOnly: true, UsbSpeed.Full))
        {
            Assert.Equal(UsbSpeed.Full, slow.Speed);
            Assert.True(slow.ReadOnly);
            Assert.Contains(slow, _context.VirtualDevices.TakeAll()); // listed in the context given, for its stop to close
        }
        Assert.Equal("DiskSpeedUnsupported", Assert.Throws<UsbRedirException>(() => CreateDisk(image.Path, false, UsbSpeed.Low)).ErrorId);
        Assert.Equal("DiskImageNotFound", Assert.Throws<UsbRedirException>(() => CreateDisk(image.Path + ".missing", false, null)).ErrorId);
    }

    [Fact]
    public async Task Keyboards_default_to_full_speed_and_bad_scripts_fail_before_a_keyboard_exists()
    {
        await using var keyboard = CreateKeyboard(null, null, null);
        Assert.Equal(UsbSpeed.Full, keyboard.Speed);
        await using var low = CreateKeyboard(UsbSpeed.Low, null, null);
        Assert.Equal(UsbSpeed.Low, low.Speed);

        Assert.Equal("KeyboardScriptInvalid", Assert.Throws<UsbRedirException>(() => CreateKeyboard(null, "{NOSUCHKEY}", null)).ErrorId);
        Assert.Equal("KeyboardScriptInvalid", Assert.Throws<UsbRedirException>(() => CreateKeyboard(null, "é", null)).ErrorId);
        Assert.Equal("KeysDelayWithoutKeys", Assert.Throws<UsbRedirException>(() => CreateKeyboard(null, null, TimeSpan.FromSeconds(1))).ErrorId);
        Assert.Equal("KeyboardDelayInvalid", Assert.Throws<UsbRedirException>(() => CreateKeyboard(null, "a", TimeSpan.FromSeconds(-1))).ErrorId);
        Assert.Equal("KeyboardSpeedUnsupported", Assert.Throws<UsbRedirException>(() => CreateKeyboard(UsbSpeed.Super, null, null)).ErrorId);
    }

    [Fact]
    public async Task A_keyboard_with_keys_types_them_when_a_peer_configures_it()
    {
        await using var listener = new GuestListener();
        await using var keyboard = CreateKeyboard(null, "{CTRL+c}x", TimeSpan.Zero);
        var connection = await UsbRedirConnection.ConnectAsync(keyboard, UsbRedirEndpoint.Parse(listener.Address), ReconnectPolicy.Never);
        try
        {
            // c = 0x06 (with Ctrl), x = 0x1B: typed by itself once the peer selected a configuration.
            Assert.Equal([0x06, 0x1B], await KeyboardPeer.ConfigureAndReadKeysAsync(await listener.NextGuestAsync(), 2));
        }
        finally
        {
            await connection.DisconnectAsync(TimeSpan.FromMilliseconds(200));
        }
    }
}
