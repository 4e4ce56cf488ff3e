using UsbRedir.Devices.Software;

namespace UsbRedir.PowerShell.Devices;

/// <summary>
/// The virtual devices New-UsbVirtualDevice made in this process, so removing the module can unplug them and close
/// their image files. Weak references: a device the session has dropped is the garbage collector's to close.
/// </summary>
internal static class VirtualDeviceTracker
{
    private static readonly List<WeakReference<SoftwareUsbDevice>> Devices = [];

    public static void Track(SoftwareUsbDevice device)
    {
        lock (Devices)
        {
            Devices.RemoveAll(d => !d.TryGetTarget(out _));
            Devices.Add(new WeakReference<SoftwareUsbDevice>(device));
        }
    }

    /// <summary>Every tracked device that is still alive, and forgets them all.</summary>
    public static IReadOnlyList<SoftwareUsbDevice> TakeAll()
    {
        lock (Devices)
        {
            var alive = Devices.Select(d => d.TryGetTarget(out var device) ? device : null).OfType<SoftwareUsbDevice>().ToList();
            Devices.Clear();
            return alive;
        }
    }
}
