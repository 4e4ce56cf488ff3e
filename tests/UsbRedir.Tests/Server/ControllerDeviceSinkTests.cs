using System.Net;
using UsbRedir.Controllers;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Server;

/// <summary>
/// The server plugging accepted devices into a virtual host controller: a controller whose kernel side is this test,
/// submitting URBs through the controller's real URB router to the remote device, as the kernel would.
/// </summary>
public class ControllerDeviceSinkTests
{
    private static readonly ReconnectPolicy Never = ReconnectPolicy.Never;

    /// <summary>Waits for a server connection to reach <paramref name="state"/> (the sink has returned by then).</summary>
    private static async Task ReachesAsync(UsbRedirServerConnection connection, ServerConnectionState state)
    {
        await Eventually.TrueAsync(() => connection.State == state || connection.Completion.IsCompleted, $"the connection is {state}");
        Assert.Equal(state, connection.State);
    }

    [Fact]
    public async Task Each_accepted_device_gets_a_port_takes_urbs_and_leaves_when_disconnected()
    {
        await using var controller = new TestController(2);
        var sink = new ControllerDeviceSink(controller);
        var log = new System.Collections.Concurrent.ConcurrentQueue<SessionLogEntry>();
        await using var server = UsbRedirServer.Start(sink, new UsbRedirServerOptions { Address = IPAddress.Loopback, Port = 0, LogListener = log.Enqueue });
        var endpoint = new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port);

        var device = new LoopbackTestDevice();
        var client = await UsbRedirConnection.ConnectAsync(device, endpoint, Never);
        var router = await controller.PluggedAsync(1);
        var remote = Assert.IsType<RemoteUsbDevice>(router.Device);
        // The sink records the port once PlugAsync returns, a moment after the controller has attached the device;
        // the server marks its connection Attached only after the sink returned.
        var first = Assert.Single(server.Connections);
        await ReachesAsync(first, ServerConnectionState.Attached);
        Assert.Equal(1, sink.PortOf(remote));

        // What the kernel does first: SET_ADDRESS (answered locally), then GET_DESCRIPTOR through the network.
        var address = await router.SubmitAsync(Control(1, new UsbSetupPacket(0x00, 5, 9, 0, 0), []), default);
        Assert.Equal(UrbStatus.Success, address.Status);
        Assert.Equal(9, controller.GetPort(1).Address);
        var buffer = new byte[18];
        var descriptor = await router.SubmitAsync(Control(2, new UsbSetupPacket(0x80, 6, 0x0100, 0, 18), buffer), default);
        Assert.Equal(new UrbResult(UrbStatus.Success, 18), descriptor);
        Assert.Equal(LoopbackTestDevice.Descriptor, buffer);
        var configure = await router.SubmitAsync(Control(3, new UsbSetupPacket(0x00, 9, 1, 0, 0), []), default);
        Assert.Equal(UrbStatus.Success, configure.Status);
        Assert.Equal(1, device.ActiveConfiguration);
        var bulk = await router.SubmitAsync(new Urb { Id = 4, Endpoint = 0x01, Type = UrbTransferType.Bulk, Buffer = new byte[] { 1, 2, 3 } }, default);
        Assert.Equal(new UrbResult(UrbStatus.Success, 3), bulk);

        // A second device takes the next port; a third finds the controller full and its connection is closed.
        var second = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), endpoint, Never);
        await controller.PluggedAsync(2);
        var third = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), endpoint, Never);
        await third.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Failed, third.State);
        Assert.Contains(log, e => e.Level == SessionLogLevel.Error && e.Message.StartsWith("connection 3: refused") && e.Message.Contains("All 2 ports"));

        // Disconnecting unplugs: the port is free again and the device's URBs fail from then on.
        await client.DisconnectAsync(TimeSpan.FromSeconds(5));
        await controller.FreedAsync(1);
        // The controller frees the port itself when the device goes away, which can be just before the sink hears of it;
        // the server connection detaches its device from the sink before it completes.
        await first.Completion.WaitAsync(TestDeadline.Default);
        Assert.Null(sink.PortOf(remote));
        Assert.Equal(VirtualPortState.Free, controller.GetPort(1).State);
        Assert.True(remote.Gone.IsCancellationRequested);
        await second.DisconnectAsync(TimeSpan.FromSeconds(5));
        await controller.FreedAsync(2);
    }

    private static Urb Control(ulong id, UsbSetupPacket setup, byte[] buffer) =>
        new() { Id = id, Endpoint = setup.IsDeviceToHost ? (byte)0x80 : (byte)0, Type = UrbTransferType.Control, Setup = setup, Buffer = buffer };

    /// <summary>A controller whose kernel side is the test: it records the router of each plugged port.</summary>
    private sealed class TestController(int ports) : VirtualHostController(ControllerBackend.VhciCtrl, "test-sink.0", 9, ports)
    {
        private readonly Dictionary<int, TaskCompletionSource<UrbRouter>> _plugged = [];
        private readonly Dictionary<int, TaskCompletionSource> _freed = [];

        private TaskCompletionSource<UrbRouter> PluggedSignal(int port)
        {
            lock (_plugged)
                return _plugged.TryGetValue(port, out var s) ? s : _plugged[port] = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        private TaskCompletionSource FreedSignal(int port)
        {
            lock (_freed)
                return _freed.TryGetValue(port, out var s) ? s : _freed[port] = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public Task<UrbRouter> PluggedAsync(int port) => PluggedSignal(port).Task.WaitAsync(TestDeadline.Default);

        public Task FreedAsync(int port) => FreedSignal(port).Task.WaitAsync(TestDeadline.Default);

        protected override Task AttachAsync(int port, UrbRouter router, CancellationToken cancellationToken)
        {
            PluggedSignal(port).TrySetResult(router);
            return Task.CompletedTask;
        }

        protected override Task DetachAsync(int port)
        {
            FreedSignal(port).TrySetResult();
            return Task.CompletedTask;
        }

        protected override ValueTask CloseBackendAsync() => ValueTask.CompletedTask;
    }
}
