using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.PowerShell.Devices;

/// <summary>What New-UsbVirtualDevice does once PowerShell has bound and resolved its parameters; kept apart so xunit runs it.</summary>
internal static class VirtualDeviceFactory
{
    /// <summary>
    /// A flash drive over the image at <paramref name="fullPath"/> (already resolved against the PowerShell location),
    /// listed in <paramref name="context"/> so stopping it closes the image.
    /// </summary>
    /// <exception cref="UsbRedirException">The image is missing, in use or of a bad size, or the speed is not Full or High.</exception>
    public static MassStorageDevice CreateDisk(UsbRedirContext context, string fullPath, bool readOnly, UsbSpeed? speed)
    {
        var disk = VirtualDevices.CreateDisk(fullPath, readOnly, speed);
        context.VirtualDevices.Add(disk);
        return disk;
    }

    /// <summary>
    /// A boot keyboard; with <paramref name="keys"/>, it types them by itself <paramref name="keysDelay"/> after a host
    /// configures it, wherever it gets plugged in (a server, QEMU, a local controller). The typing runs in the
    /// background and never faults (BootKeyboard.TypeWhenConfiguredAsync), so nothing can escape on another thread. Listed
    /// in <paramref name="context"/>, so stopping it unplugs the keyboard.
    /// </summary>
    /// <exception cref="UsbRedirException">A bad key script or delay, or an unsupported speed; no keyboard is left behind.</exception>
    public static BootKeyboard CreateKeyboard(UsbRedirContext context, UsbSpeed? speed, string? keys, TimeSpan? keysDelay)
    {
        var typing = KeyboardTyping.Create(keys, keysDelay); // checked before a keyboard exists: nothing to clean up
        var keyboard = VirtualDevices.CreateKeyboard(speed, typing, out _);
        context.VirtualDevices.Add(keyboard);
        return keyboard;
    }
}
