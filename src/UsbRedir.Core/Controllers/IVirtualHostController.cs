using UsbRedir.Devices;

namespace UsbRedir.Controllers;

/// <summary>
/// A virtual USB host controller of the local Linux kernel: a root hub with <see cref="PortCount"/> ports, each of
/// which can hold one <see cref="IUsbDevice"/>. A plugged device appears to the kernel as if plugged in for real: it
/// enumerates, drivers bind, and every URB the kernel submits to it is turned into <see cref="IUsbDevice"/> calls
/// (see <see cref="Urbs.UrbRouter"/>). Create one with <see cref="VirtualHostControllerFactory"/>.
/// </summary>
/// <remarks>
/// Contract (every backend):
/// <list type="bullet">
/// <item>All members are thread-safe. Nothing a caller passes in is called on the caller's thread after a method returns
///   except through the documented events, whose handler exceptions are caught and dropped.</item>
/// <item>The controller never disposes a device: the caller that created the device owns it. It does unplug a device on
///   its own when the device's <see cref="IUsbDevice.Gone"/> fires, and when the backend fails.</item>
/// <item><see cref="IAsyncDisposable.DisposeAsync"/> unplugs every port, then removes the controller from the kernel.
///   It is idempotent and never throws for backend trouble.</item>
/// <item>Errors are <see cref="UsbRedirException"/>s whose ErrorId names the cause (see <see cref="ControllerErrors"/>).</item>
/// </list>
/// </remarks>
public interface IVirtualHostController : IAsyncDisposable
{
    /// <summary>The backend really in use (never <see cref="ControllerBackend.Auto"/>).</summary>
    ControllerBackend Backend { get; }

    /// <summary>The kernel's name for the controller, e.g. "usbredir_vhci.0" or "vhci_hcd.0".</summary>
    string Name { get; }

    /// <summary>The USB bus number of the root hub the devices appear on (the USB 2.0 one where there are two).</summary>
    int BusNumber { get; }

    /// <summary>How many root-hub ports there are; ports are numbered 1..PortCount.</summary>
    int PortCount { get; }

    /// <summary>Cancelled once the controller is closed: disposed, or its backend failed (then <see cref="Fault"/> says why).</summary>
    CancellationToken Closed { get; }

    /// <summary>Why the backend failed, or null while it works (or after an orderly dispose).</summary>
    Exception? Fault { get; }

    /// <summary>
    /// Raised after a port changed state (plugged, unplugged by a caller, by the device going away or by a backend failure),
    /// on a background thread. Handler exceptions are caught and dropped.
    /// </summary>
    event EventHandler<VirtualPortChangedEventArgs>? PortChanged;

    /// <summary>A snapshot of every port, in port order.</summary>
    IReadOnlyList<VirtualPortInfo> GetPorts();

    /// <summary>A snapshot of one port.</summary>
    /// <exception cref="UsbRedirException">PortNumberInvalid: <paramref name="port"/> is not in 1..PortCount.</exception>
    VirtualPortInfo GetPort(int port);

    /// <summary>
    /// Plugs <paramref name="device"/> into <paramref name="port"/>, or into the lowest free port when it is 0, and returns the
    /// port used. Returns once the kernel sees the connection; enumeration then runs by itself.
    /// </summary>
    /// <exception cref="UsbRedirException">
    /// ControllerNoFreePort, ControllerPortInUse, PortNumberInvalid, DeviceAlreadyPlugged, DeviceSpeedUnsupported,
    /// ControllerClosed, or a backend error.
    /// </exception>
    Task<int> PlugAsync(IUsbDevice device, int port = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// Plugs <paramref name="device"/> as <see cref="PlugAsync"/> does, and from then on the port owns it: the controller
    /// disposes it once it has left the port (unplugged, gone, or the controller closed or failed), before the unplug or
    /// the controller's disposal returns. For a device opened only for this plug, such as a local USB device whose kernel
    /// drivers come back when it is closed. When the plug fails the device stays the caller's.
    /// </summary>
    /// <exception cref="UsbRedirException">As <see cref="PlugAsync"/>.</exception>
    Task<int> PlugOwnedAsync(IUsbDevice device, int port = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// Unplugs the device in <paramref name="port"/>: the kernel sees a disconnect, every URB still at the device is cancelled.
    /// Returns once the port is free again.
    /// </summary>
    /// <exception cref="UsbRedirException">PortNumberInvalid, or ControllerPortEmpty when nothing is plugged in there.</exception>
    Task UnplugAsync(int port, CancellationToken cancellationToken = default);
}
