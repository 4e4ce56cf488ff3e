namespace UsbRedir.Devices.Sources;

/// <summary>
/// Where a connection gets the device it exports, each time it needs one: once at the start, and again after the device
/// went away (<see cref="IUsbDevice.Gone"/>). This is the hook of auto re-attach: a source that can yield the device again
/// when it comes back (a local device re-opened by busid, or by VID:PID and serial number after it moved port) makes the
/// connection re-export it by itself; <see cref="FixedUsbDeviceSource"/> yields one device object once, so that connection
/// ends with its device.
/// </summary>
/// <remarks>
/// The connection calls <see cref="AcquireAsync"/> and <see cref="ReleaseAsync"/> in turn, never two acquires at once, from
/// its background task; an exception from either ends the connection as Failed (with the message in its log), so a source
/// reports "not present yet" by waiting, not by throwing. <see cref="ReusableUsbDeviceSource"/> is the ready-made source
/// over a function that tries to open the device: it retries with backoff, and <see cref="ReusableUsbDeviceSource.NotifyChanged"/>
/// lets a hot-plug watcher cut the wait short.
/// </remarks>
public interface IUsbDeviceSource
{
    /// <summary>
    /// What the source stands for, stable while the device comes and goes, for lists and logs: "2-1.3", "0781:5567 serial
    /// 4C53000", or the device's description for a fixed device.
    /// </summary>
    string Identity { get; }

    /// <summary>
    /// Waits until the device is present and returns it, ready to export; or null when the source will never yield a device
    /// again (a fixed device that went away). Cancelling the token (the connection stops) ends the wait with
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<IUsbDevice?> AcquireAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The connection is done with <paramref name="device"/>, which <see cref="AcquireAsync"/> returned: it went away, or the
    /// connection stopped. A source that opened the device closes it here (a local device gives its interfaces back to
    /// their kernel drivers); a fixed source leaves it to its owner.
    /// </summary>
    ValueTask ReleaseAsync(IUsbDevice device);
}
