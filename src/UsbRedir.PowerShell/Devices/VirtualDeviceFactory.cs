using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.PowerShell.Devices;

/// <summary>What New-UsbVirtualDevice does once PowerShell has bound and resolved its parameters; kept apart so xunit runs it.</summary>
internal static class VirtualDeviceFactory
{
    /// <summary>A flash drive over the image at <paramref name="fullPath"/> (already resolved against the PowerShell location).</summary>
    /// <exception cref="UsbRedirException">The image is missing, in use or of a bad size, or the speed is not Full or High.</exception>
    public static MassStorageDevice CreateDisk(string fullPath, bool readOnly, UsbSpeed? speed)
    {
        var disk = VirtualDevices.CreateDisk(fullPath, readOnly, speed ?? UsbSpeed.High);
        VirtualDeviceTracker.Track(disk);
        return disk;
    }

    /// <summary>
    /// A boot keyboard; with <paramref name="keys"/>, it types them by itself <paramref name="keysDelay"/> after a host
    /// configures it, wherever it gets plugged in (a server, QEMU, a local controller). The typing runs in the
    /// background and never faults (BootKeyboard.TypeWhenConfiguredAsync), so nothing can escape on another thread.
    /// </summary>
    /// <exception cref="UsbRedirException">A bad key script or delay, or an unsupported speed; no keyboard is left behind.</exception>
    public static BootKeyboard CreateKeyboard(UsbSpeed? speed, string? keys, TimeSpan? keysDelay)
    {
        if (keys is null && keysDelay is not null)
            throw new UsbRedirException("KeysDelayWithoutKeys", UsbRedirErrorCategory.InvalidArgument,
                "A delay before typing was given, but no keys to type.", "Give -Keys with -KeysDelay, or leave -KeysDelay out.");
        var keyboard = VirtualDevices.CreateKeyboard(speed ?? UsbSpeed.Full);
        try
        {
            if (keys is not null)
                _ = keyboard.TypeWhenConfiguredAsync(keys, keysDelay ?? BootKeyboard.DefaultTypingDelay);
        }
        catch
        {
            keyboard.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        VirtualDeviceTracker.Track(keyboard);
        return keyboard;
    }
}
