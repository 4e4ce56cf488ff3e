using UsbRedir.Controllers;
using UsbRedir.Devices.Software;
using UsbRedir.Server;
using UsbRedir.Sessions;

namespace UsbRedir;

/// <summary>
/// One use of the engine: the connections, servers and controllers a front end made, each numbered from 1 within it, so
/// it can find them later by id, refuse to connect a device twice, and stop them all when it ends. A front end owns
/// one: the PowerShell module one per module load (Remove-Module stops it), the usbredir CLI one per process. Nothing
/// joins a context by itself, and two contexts in one process share nothing, so the engine can be used twice side by side.
/// </summary>
/// <remarks>
/// A connection or server is listed in the context given to its factory (<see cref="UsbRedirConnection.ConnectAsync(Devices.Sources.IUsbDeviceSource, Transport.UsbRedirEndpoint, Transport.ReconnectPolicy?, Transport.TcpKeepAlive?, Action{SessionLogEntry}?, CancellationToken, UsbRedirContext?)"/>,
/// <see cref="UsbRedirServer.Start(IDeviceSink, UsbRedirServerOptions?, UsbRedirContext?)"/>); without one it is listed
/// nowhere and its id is 0.
/// </remarks>
public sealed class UsbRedirContext
{
    /// <summary>
    /// The device connections (Get-UsbRedirConnection). A connection that ends by itself (rejected, gave up reconnecting,
    /// device gone) stays listed with its final state and error, the way a finished job does, until
    /// <see cref="UsbRedirConnection.DisconnectAsync"/> takes it off; a failed first connect is never listed.
    /// </summary>
    public ContextList<UsbRedirConnection> Connections { get; } = new();

    /// <summary>The running servers (Get-UsbRedirServer); a server leaves the list when it stops.</summary>
    public ContextList<UsbRedirServer> Servers { get; } = new();

    /// <summary>
    /// The virtual host controllers made in this context (Get-VhciController), a server's own among them while it runs
    /// (<see cref="UsbRedirServer.StartWithOwnControllerAsync"/>). Taking one off the list leaves it in the kernel.
    /// </summary>
    public ContextList<IVirtualHostController> Controllers { get; } = new();

    /// <summary>
    /// The virtual devices made in this context (the PowerShell module lists what New-UsbVirtualDevice makes): stopping
    /// the context unplugs them and closes their image files, last, after what they may be plugged into.
    /// </summary>
    public VirtualDeviceList VirtualDevices { get; } = new();

    /// <summary>
    /// Stops everything listed, waiting up to <paramref name="timeout"/> for each step: servers first (they unplug what
    /// they accepted and remove their own controllers), then connections are disconnected (the peers are told), then the
    /// remaining controllers leave the kernel, then the virtual devices are closed. Never throws: it runs while a front end goes away; a step that fails or
    /// hangs does not keep the others from running.
    /// </summary>
    public async Task StopAllAsync(TimeSpan timeout)
    {
        await Task.WhenAll(Servers.All.Select(s => Guarded(() => s.StopAsync(timeout), timeout + timeout))).ConfigureAwait(false);
        await Task.WhenAll(Connections.All.Select(c => Guarded(() => c.DisconnectAsync(timeout), timeout + timeout))).ConfigureAwait(false);
        foreach (var controller in Controllers.TakeAll())
            await Guarded(() => controller.DisposeAsync().AsTask(), timeout).ConfigureAwait(false);
        foreach (var device in VirtualDevices.TakeAll())
            await Guarded(() => device.DisposeAsync().AsTask(), timeout).ConfigureAwait(false);
    }

    private static async Task Guarded(Func<Task> step, TimeSpan limit)
    {
        try
        {
            await step().WaitAsync(limit).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Nothing to report to: the front end is going away.
        }
    }
}
