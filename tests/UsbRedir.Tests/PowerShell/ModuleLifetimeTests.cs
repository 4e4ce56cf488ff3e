using System.Net;
using System.Reflection;
using UsbRedir.Controllers;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.PowerShell;

/// <summary>Stopping everything disconnects every connection in the process, so nothing else may run beside it.</summary>
[CollectionDefinition(nameof(ProcessWideConnections), DisableParallelization = true)]
public sealed class ProcessWideConnections;

/// <summary>Remove-Module UsbRedir (IModuleAssemblyCleanup.OnRemove) stops servers, connections, controllers and the module's devices.</summary>
[Collection(nameof(ProcessWideConnections))]
public class ModuleLifetimeTests
{
    private static Type Lifetime => PublishedModule.Assembly.GetType("UsbRedir.PowerShell.UsbRedirModuleLifetime", throwOnError: true)!;

    [Fact]
    public void The_module_hooks_import_and_removal()
    {
        Assert.True(Lifetime.IsPublic && Lifetime.IsSealed);
        var interfaces = Lifetime.GetInterfaces().Select(i => i.FullName).ToList();
        Assert.Contains("System.Management.Automation.IModuleAssemblyCleanup", interfaces);
        Assert.Contains("System.Management.Automation.IModuleAssemblyInitializer", interfaces);
    }

    [Fact]
    public async Task Removal_stops_servers_disconnects_connections_politely_and_removes_controllers_and_devices()
    {
        // A server with a controller of its own, serving a keyboard we push to it, and a controller of the user's.
        var served = new InMemoryController(1);
        Func<int, ControllerBackend, CancellationToken, Task<IVirtualHostController>> create = (_, _, _) => Task.FromResult<IVirtualHostController>(served);
        var server = await (Task<UsbRedirServer>)ModuleInternals.Call("UsbRedir.PowerShell.Servers.ServerLauncher", "StartWithOwnControllerAsync",
            1, ControllerBackend.Auto, new UsbRedirServerOptions { Address = IPAddress.Loopback, Port = 0 }, create, CancellationToken.None)!;
        await using var pushed = VirtualDevices.CreateKeyboard();
        var client = await UsbRedirConnection.ConnectAsync(pushed, new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port), ReconnectPolicy.Never);
        var users = new InMemoryController(2);
        ModuleInternals.Call("UsbRedir.PowerShell.Controllers.VhciControllerSelection", "Add", users);

        await using var listener = new GuestListener();
        var context = ModuleInternals.Context;
        var keyboard = (BootKeyboard)ModuleInternals.Call("UsbRedir.PowerShell.Devices.VirtualDeviceFactory", "CreateKeyboard", context, null, null, null)!;
        var connection = await UsbRedirConnection.ConnectAsync(keyboard, UsbRedirEndpoint.Parse(listener.Address), context: context);
        var guest = await listener.NextGuestAsync();
        await guest.ExpectAnnouncementAsync();

        // What PowerShell calls on Remove-Module; the guest acknowledges the disconnect like QEMU does.
        var onRemove = Task.Run(() => Lifetime.GetMethod("OnRemove", BindingFlags.Public | BindingFlags.Instance)!
            .Invoke(Activator.CreateInstance(Lifetime), [null]));
        await guest.ExpectAsync(T.DeviceDisconnect);
        guest.Do(c => c.SendDeviceDisconnectAck());
        await onRemove.WaitAsync(TestDeadline.Default);

        Assert.Equal(ConnectionState.Disconnected, connection.State);
        Assert.True(keyboard.Gone.IsCancellationRequested);
        Assert.Empty(context.Servers.All);
        Assert.Empty(context.Controllers.All);
        Assert.NotSame(context, ModuleInternals.Context); // the next import starts afresh
        Assert.True(served.Closed.IsCancellationRequested);
        Assert.True(users.Closed.IsCancellationRequested);
        // The pushed keyboard's connection ended when the server stopped, and removal took it off the list too.
        await client.Completion.WaitAsync(TestDeadline.Default);
        Assert.Empty(context.Connections.All);
    }
}
