using UsbRedir.Controllers;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.Server;

namespace UsbRedir.PowerShell.Servers;

/// <summary>
/// What Start-/Stop-UsbRedirServer do once PowerShell has bound their parameters, kept apart so xunit runs it: a server
/// plugs what it accepts into a controller, either one the user made (-Controller) or one made for it (-Ports), which
/// is then the server's own and leaves the kernel when the server stops (the engine's rule:
/// <see cref="UsbRedirServer.StartWithOwnControllerAsync"/>); the module's context lists both meanwhile
/// (<see cref="UsbRedirModuleLifetime.Context"/>).
/// </summary>
internal static class ServerLauncher
{
    /// <summary>Starts a server that plugs accepted devices into <paramref name="controller"/>.</summary>
    /// <exception cref="UsbRedirException">Bad options (filter, port), or the port is in use / not allowed / the address is not local.</exception>
    public static UsbRedirServer Start(VhciController controller, UsbRedirServerOptions options) =>
        UsbRedirServer.Start(new ControllerDeviceSink(controller.Controller), options, UsbRedirModuleLifetime.Context);

    /// <summary>
    /// Creates a controller with <paramref name="ports"/> ports for a new server (listed by Get-VhciController while the
    /// server runs) and starts the server; if the server cannot start, the controller is removed again.
    /// </summary>
    public static Task<UsbRedirServer> StartWithOwnControllerAsync(int ports, ControllerBackend backend, UsbRedirServerOptions options,
        Func<int, ControllerBackend, CancellationToken, Task<IVirtualHostController>> createController, CancellationToken cancellationToken) =>
        UsbRedirServer.StartWithOwnControllerAsync(token => createController(ports, backend, token), options, null,
            cancellationToken, UsbRedirModuleLifetime.Context);

    /// <summary>The controller <paramref name="server"/> plugs its devices into.</summary>
    public static IVirtualHostController? ControllerOf(UsbRedirServer server) => (server.Sink as ControllerDeviceSink)?.Controller;
}
