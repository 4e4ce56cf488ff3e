namespace UsbRedir.Devices.Software;

/// <summary>
/// The virtual devices a front end made in one <see cref="UsbRedirContext"/> (New-UsbVirtualDevice), so stopping the
/// context can unplug them and close their image files. Weak references: a device the front end has dropped is the
/// garbage collector's to close.
/// </summary>
public sealed class VirtualDeviceList
{
    private readonly List<WeakReference<SoftwareUsbDevice>> _devices = [];

    internal VirtualDeviceList()
    {
    }

    /// <summary>Lists <paramref name="device"/> until the context stops (or the device is collected).</summary>
    public void Add(SoftwareUsbDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_devices)
        {
            _devices.RemoveAll(d => !d.TryGetTarget(out _));
            _devices.Add(new WeakReference<SoftwareUsbDevice>(device));
        }
    }

    /// <summary>Every listed device that is still alive, and forgets them all.</summary>
    public IReadOnlyList<SoftwareUsbDevice> TakeAll()
    {
        lock (_devices)
        {
            var alive = _devices.Select(d => d.TryGetTarget(out var device) ? device : null).OfType<SoftwareUsbDevice>().ToList();
            _devices.Clear();
            return alive;
        }
    }
}
