using UsbRedir.Controllers;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.Server;

namespace UsbRedir.PowerShell.Servers;

/// <summary>
/// What Start-/Stop-UsbRedirServer do once PowerShell has bound their parameters, kept apart so xunit runs it: a server
/// plugs what it accepts into a controller, either one the user made (-Controller) or one made for it (-Ports), which
/// is then the server's own and leaves the kernel when the server stops (the engine's rule:
/// <see cref="UsbRedirServer.StartWithOwnControllerAsync"/>); this session lists it meanwhile.
/// </summary>
internal static class ServerLauncher
{
    /// <summary>Starts a server that plugs accepted devices into <paramref name="controller"/>.</summary>
    /// <exception cref="UsbRedirException">Bad options (filter, port), or the port is in use / not allowed / the address is not local.</exception>
    public static UsbRedirServer Start(VhciController controller, UsbRedirServerOptions options) =>
        UsbRedirServer.Start(new ControllerDeviceSink(controller.Controller), options);

    /// <summary>
    /// Creates a controller with <paramref name="ports"/> ports for a new server (listed by Get-VhciController while the
    /// server runs) and starts the server; if the server cannot start, the controller is removed again.
    /// </summary>
    public static async Task<UsbRedirServer> StartWithOwnControllerAsync(int ports, ControllerBackend backend, UsbRedirServerOptions options,
        Func<int, ControllerBackend, CancellationToken, Task<IVirtualHostController>> createController, CancellationToken cancellationToken)
    {
        var server = await UsbRedirServer.StartWithOwnControllerAsync(token => createController(ports, backend, token), options, null,
            cancellationToken);
        VhciControllerRegistry.Add(server.OwnedController!);
        return server;
    }

    /// <summary>The controller <paramref name="server"/> plugs its devices into.</summary>
    public static IVirtualHostController? ControllerOf(UsbRedirServer server) => (server.Sink as ControllerDeviceSink)?.Controller;

    /// <summary>Stops the server (its devices are unplugged, its connections closed), then removes its own controller, if it has one.</summary>
    public static async Task StopAsync(UsbRedirServer server, TimeSpan timeout)
    {
        await server.StopAsync(timeout); // removes its own controller
        if (server.OwnedController is { } owned && VhciControllerRegistry.All.FirstOrDefault(c => c.Controller == owned) is { } listed)
            VhciControllerRegistry.Remove(listed);
    }

    /// <summary>Every running server (module removal). Never throws.</summary>
    public static async Task StopAllAsync(TimeSpan timeout)
    {
        foreach (var server in UsbRedirServerRegistry.All)
        {
            try
            {
                await StopAsync(server, timeout);
            }
            catch (Exception)
            {
                // One server failing to stop must not keep the others running.
            }
        }
    }
}
