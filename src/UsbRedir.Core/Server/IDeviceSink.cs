using UsbRedir.Devices;

namespace UsbRedir.Server;

/// <summary>
/// Where a <see cref="UsbRedirServer"/> puts the devices it accepts: typically a virtual host controller that plugs each
/// one into a free port, so the local kernel enumerates it. Implementations must be thread-safe: several connections
/// attach and detach concurrently.
/// </summary>
public interface IDeviceSink
{
    /// <summary>
    /// Plugs in a device the server accepted (its descriptors are read, the filter allowed it). Returns once it is plugged.
    /// Throwing refuses the device: the server logs the error on the connection and closes it; throw a
    /// <see cref="UsbRedirException"/> (e.g. ResourceBusy "no free port") so the message reaches the user.
    /// </summary>
    Task AttachAsync(UsbRedirServerConnection connection, IUsbDevice device, CancellationToken cancellationToken);

    /// <summary>
    /// Unplugs a device: called exactly once for each successful <see cref="AttachAsync"/>, when the peer disconnects
    /// the device, the connection ends, or the server stops. By then <see cref="IUsbDevice.Gone"/> may already be
    /// cancelled (every transfer fails with IoError). Exceptions are logged and otherwise ignored.
    /// </summary>
    Task DetachAsync(UsbRedirServerConnection connection, IUsbDevice device);
}
