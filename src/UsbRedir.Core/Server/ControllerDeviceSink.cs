using System.Collections.Concurrent;
using UsbRedir.Controllers;
using UsbRedir.Devices;

namespace UsbRedir.Server;

/// <summary>
/// The sink a server normally uses: plugs every accepted device into the lowest free port of a virtual host controller,
/// so the local kernel enumerates it, and unplugs it when it goes away. A full controller refuses the device
/// (ControllerNoFreePort), which closes that connection. The controller stays the caller's: it is never disposed here.
/// </summary>
public sealed class ControllerDeviceSink(IVirtualHostController controller) : IDeviceSink
{
    private readonly ConcurrentDictionary<IUsbDevice, int> _ports = new(ReferenceEqualityComparer.Instance);

    public IVirtualHostController Controller { get; } = controller ?? throw new ArgumentNullException(nameof(controller));

    /// <summary>The port a device of this sink is plugged into, or null.</summary>
    public int? PortOf(IUsbDevice device) => _ports.TryGetValue(device, out var port) ? port : null;

    public async Task AttachAsync(UsbRedirServerConnection connection, IUsbDevice device, CancellationToken cancellationToken)
    {
        var port = await Controller.PlugAsync(device, 0, cancellationToken);
        _ports[device] = port;
        connection.Log.Info($"plugged into port {port} of {Controller.Name} (bus {Controller.BusNumber})");
    }

    public async Task DetachAsync(UsbRedirServerConnection connection, IUsbDevice device)
    {
        if (!_ports.TryRemove(device, out var port))
            return;
        // The controller unplugs a device by itself when it goes away (it may be doing so right now): only unplug
        // what is still plugged in and ours.
        var info = Controller.Closed.IsCancellationRequested ? null : Controller.GetPort(port);
        if (info is not { State: VirtualPortState.Plugged } || !ReferenceEquals(info.Device, device))
            return;
        try
        {
            await Controller.UnplugAsync(port);
            connection.Log.Info($"unplugged from port {port} of {Controller.Name}");
        }
        catch (UsbRedirException e) when (e.ErrorId is "ControllerPortEmpty" or "ControllerPortBusy" or "ControllerClosed")
        {
            // It went away on its own in the meantime.
        }
    }
}
