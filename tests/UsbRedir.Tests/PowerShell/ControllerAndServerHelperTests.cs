using System.Net;
using UsbRedir.Controllers;
using UsbRedir.Devices.Software;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.PowerShell;

/// <summary>
/// The controller and server cmdlets' helpers (Controllers/*, Servers/ServerLauncher) over a controller without a kernel,
/// with our usb-host client pushing devices to the server over loopback TCP.
/// </summary>
[Collection(nameof(ProcessWideConnections))]
public class ControllerAndServerHelperTests
{
    private const string Registry = "UsbRedir.PowerShell.Controllers.VhciControllerSelection";
    private const string Launcher = "UsbRedir.PowerShell.Servers.ServerLauncher";

    private static object Register(IVirtualHostController controller) => ModuleInternals.Call(Registry, "Add", controller)!;

    private static IReadOnlyList<object> Listed() => ((System.Collections.IEnumerable)PublishedModule.Assembly.GetType(Registry)!
        .GetProperty("All")!.GetValue(null)!).Cast<object>().ToList();

    private static T Get<T>(object target, string property) => (T)target.GetType().GetProperty(property)!.GetValue(target)!;

    private static UsbRedirServerOptions Loopback => new() { Address = IPAddress.Loopback, Port = 0 };

    private static UsbRedirEndpoint EndpointOf(UsbRedirServer server) => new("127.0.0.1", server.LocalEndPoint.Port);

    [Fact]
    public async Task A_registered_controller_has_an_id_and_live_port_counts_and_a_plug_knows_its_bus_id()
    {
        await using var memory = new InMemoryController(2, busNumber: 7);
        var controller = Register(memory);
        try
        {
            Assert.Contains(controller, Listed());
            Assert.Equal(2, Get<int>(controller, "FreePorts"));
            Assert.Equal("Running", Get<object>(controller, "State").ToString()); // an enum (VhciControllerState), as connections have

            var selection = (System.Runtime.CompilerServices.ITuple)ModuleInternals.Call(Registry, "Select", new[] { Get<int>(controller, "Id"), 424242 })!;
            Assert.Equal(controller, Assert.Single(((System.Collections.IEnumerable)selection[0]!).Cast<object>())); // a view of the same entry
            Assert.Equal("VhciControllerNotFound", Assert.Single((IReadOnlyList<UsbRedirException>)selection[1]!).ErrorId);

            // What Connect-UsbDevice -Controller does, and the plug it writes.
            await using var keyboard = VirtualDevices.CreateKeyboard();
            var port = await memory.PlugAsync(keyboard);
            var plugType = PublishedModule.Assembly.GetType("UsbRedir.PowerShell.Controllers.UsbDevicePlug")!;
            var plug = Activator.CreateInstance(plugType, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null, [controller, port, keyboard], null)!;
            Assert.Equal("7-1", Get<string>(plug, "BusId"));
            Assert.True(Get<bool>(plug, "IsPlugged"));
            Assert.Equal(1, Get<int>(controller, "FreePorts"));

            await memory.UnplugAsync(port);
            Assert.False(Get<bool>(plug, "IsPlugged"));
            await memory.DisposeAsync();
            Assert.Equal("Removed", Get<object>(controller, "State").ToString());
            Assert.False(Get<bool>(plug, "IsPlugged"));
        }
        finally
        {
            ModuleInternals.Call(Registry, "Remove", controller);
        }
    }

    [Fact]
    public async Task A_server_plugs_pushed_devices_into_the_given_controller_and_leaves_it_when_stopped()
    {
        await using var memory = new InMemoryController(1);
        var controller = Register(memory);
        try
        {
            var server = (UsbRedirServer)ModuleInternals.Call(Launcher, "Start", controller, Loopback)!;
            await using var keyboard = VirtualDevices.CreateKeyboard();
            var client = await UsbRedirConnection.ConnectAsync(keyboard, EndpointOf(server), ReconnectPolicy.Never);
            await Eventually.TrueAsync(() => memory.GetPort(1).State == VirtualPortState.Plugged, "the server plugged the keyboard into the controller");
            // The server plugs the device while its connection is Attaching and marks it Attached once the plug returned.
            var connection = Assert.Single(server.Connections);
            await Eventually.TrueAsync(() => connection.State != ServerConnectionState.Attaching, "the server connection is past attaching");
            Assert.Equal(ServerConnectionState.Attached, connection.State);

            Assert.Contains(server, ModuleInternals.Context.Servers.All);
            await server.StopAsync(TimeSpan.FromSeconds(5));
            Assert.DoesNotContain(server, ModuleInternals.Context.Servers.All);
            Assert.Equal(VirtualPortState.Free, memory.GetPort(1).State);
            Assert.False(memory.Closed.IsCancellationRequested); // the user's controller stays
            Assert.Contains(controller, Listed());
            await client.DisconnectAsync(TimeSpan.FromMilliseconds(100));
        }
        finally
        {
            ModuleInternals.Call(Registry, "Remove", controller);
        }
    }

    [Fact]
    public async Task A_server_with_its_own_controller_removes_it_when_stopped_or_when_it_cannot_start()
    {
        InMemoryController? made = null;
        Func<int, ControllerBackend, CancellationToken, Task<IVirtualHostController>> create = (ports, backend, _) =>
        {
            Assert.Equal((3, ControllerBackend.Usbip), (ports, backend));
            made = new InMemoryController(ports);
            return Task.FromResult<IVirtualHostController>(made);
        };
        var server = await (Task<UsbRedirServer>)ModuleInternals.Call(Launcher, "StartWithOwnControllerAsync", 3, ControllerBackend.Usbip, Loopback, create, CancellationToken.None)!;
        Assert.Contains(Listed(), c => ReferenceEquals(Get<IVirtualHostController>(c, "Controller"), made));
        Assert.Same(made, ModuleInternals.Call(Launcher, "ControllerOf", server));

        await server.StopAsync(TimeSpan.FromSeconds(5)); // the engine removes its own controller, from the kernel and the list
        Assert.True(made!.BackendClosed);
        Assert.DoesNotContain(Listed(), c => ReferenceEquals(Get<IVirtualHostController>(c, "Controller"), made));

        // The port is taken: the server cannot start, and the controller made for it goes again.
        await using var blocker = UsbRedirServer.Start(new ControllerDeviceSink(new InMemoryController(1)), Loopback);
        var busy = Loopback with { Port = blocker.LocalEndPoint.Port };
        var e = await Assert.ThrowsAsync<UsbRedirException>(() =>
            (Task<UsbRedirServer>)ModuleInternals.Call(Launcher, "StartWithOwnControllerAsync", 3, ControllerBackend.Usbip, busy, create, CancellationToken.None)!);
        Assert.Equal("ServerPortInUse", e.ErrorId);
        Assert.True(made.BackendClosed);
        Assert.DoesNotContain(Listed(), c => ReferenceEquals(Get<IVirtualHostController>(c, "Controller"), made));
    }
}
