using UsbRedir.Controllers;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Controllers;

/// <summary>
/// The backend-independent controller logic (port choice, plug/unplug life cycle, device gone, failure, disposal),
/// over a backend that records what it was asked to do; the real backends are proven in the VM tests.
/// </summary>
public sealed class VirtualHostControllerTests
{
    private static readonly TimeSpan Timeout = TestDeadline.Default;

    [Fact]
    public async Task Plug_takes_the_lowest_free_port_and_a_full_controller_says_so()
    {
        await using var controller = new RecordingController(2);
        await using var a = VirtualDevices.CreateKeyboard();
        await using var b = VirtualDevices.CreateKeyboard();
        await using var c = VirtualDevices.CreateKeyboard();

        Assert.Equal(1, await controller.PlugAsync(a));
        Assert.Equal(2, await controller.PlugAsync(b));
        var full = await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugAsync(c));

        Assert.Equal("ControllerNoFreePort", full.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.ResourceBusy, full.Category);
        Assert.Contains("All 2 ports", full.Message);
        Assert.NotNull(full.RecommendedAction);
        Assert.Equal(["attach 1", "attach 2"], controller.Calls);
        Assert.Equal([VirtualPortState.Plugged, VirtualPortState.Plugged], controller.GetPorts().Select(p => p.State));
        Assert.Same(a, controller.GetPort(1).Device);
    }

    [Fact]
    public async Task A_given_port_must_exist_and_be_free_and_a_device_sits_in_one_port_only()
    {
        await using var controller = new RecordingController(3);
        await using var a = VirtualDevices.CreateKeyboard();
        await using var b = VirtualDevices.CreateKeyboard();

        Assert.Equal(3, await controller.PlugAsync(a, 3));
        Assert.Equal("ControllerPortInUse", (await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugAsync(b, 3))).ErrorId);
        Assert.Equal("DeviceAlreadyPlugged", (await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugAsync(a, 1))).ErrorId);
        Assert.Equal("PortNumberInvalid", (await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugAsync(b, 4))).ErrorId);
        Assert.Equal("PortNumberInvalid", Assert.Throws<UsbRedirException>(() => controller.GetPort(0)).ErrorId);
        Assert.Equal("ControllerPortEmpty", (await Assert.ThrowsAsync<UsbRedirException>(() => controller.UnplugAsync(1))).ErrorId);
    }

    [Fact]
    public async Task Unplug_detaches_frees_the_port_and_tells_listeners()
    {
        await using var controller = new RecordingController(1);
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var events = new List<VirtualPortInfo>();
        controller.PortChanged += (_, e) => events.Add(e.Port);

        await controller.PlugAsync(keyboard);
        await controller.UnplugAsync(1);

        Assert.Equal(["attach 1", "detach 1"], controller.Calls);
        Assert.Equal(new VirtualPortInfo(1, VirtualPortState.Free, null, 0), controller.GetPort(1));
        Assert.Equal([VirtualPortState.Plugged, VirtualPortState.Free], events.Select(e => e.State));
        Assert.Equal(1, await controller.PlugAsync(keyboard));
    }

    [Fact]
    public async Task A_device_that_goes_away_is_unplugged_by_the_controller()
    {
        await using var controller = new RecordingController(2);
        var keyboard = VirtualDevices.CreateKeyboard();
        var freed = new TaskCompletionSource<VirtualPortInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        controller.PortChanged += (_, e) => { if (e.Port.State == VirtualPortState.Free) freed.TrySetResult(e.Port); };
        await controller.PlugAsync(keyboard, 2);

        await keyboard.DisposeAsync();

        Assert.Equal(2, (await freed.Task.WaitAsync(Timeout)).Number);
        Assert.Equal(["attach 2", "detach 2"], controller.Calls);
    }

    [Fact]
    public async Task A_failed_attach_leaves_the_port_free()
    {
        await using var controller = new RecordingController(1) { AttachError = new IOException("kernel said no") };
        await using var keyboard = VirtualDevices.CreateKeyboard();

        await Assert.ThrowsAsync<IOException>(() => controller.PlugAsync(keyboard));

        Assert.Equal(VirtualPortState.Free, controller.GetPort(1).State);
    }

    [Fact]
    public async Task A_port_that_owns_its_device_closes_it_when_it_leaves_the_port_and_not_before()
    {
        var controller = new RecordingController(3);
        var unplugged = VirtualDevices.CreateKeyboard();
        var closedWithTheController = VirtualDevices.CreateKeyboard();
        await using var borrowed = VirtualDevices.CreateKeyboard();
        await using var refused = VirtualDevices.CreateKeyboard();

        Assert.Equal(1, await controller.PlugOwnedAsync(unplugged));
        Assert.Equal(2, await controller.PlugOwnedAsync(closedWithTheController));
        Assert.Equal(3, await controller.PlugAsync(borrowed));
        Assert.Equal("ControllerNoFreePort", (await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugOwnedAsync(refused))).ErrorId);
        Assert.False(refused.Gone.IsCancellationRequested); // a failed plug leaves the device its caller's
        Assert.False(unplugged.Gone.IsCancellationRequested);

        await controller.UnplugAsync(1);
        Assert.True(unplugged.Gone.IsCancellationRequested); // closed before the unplug returned
        Assert.False(closedWithTheController.Gone.IsCancellationRequested);
        Assert.Equal(1, await controller.PlugAsync(refused)); // the port no longer owns anything: a borrowed device stays open
        await controller.UnplugAsync(1);
        Assert.False(refused.Gone.IsCancellationRequested);

        await controller.DisposeAsync();
        Assert.True(closedWithTheController.Gone.IsCancellationRequested);
        Assert.False(borrowed.Gone.IsCancellationRequested);
    }

    [Fact]
    public async Task Dispose_unplugs_everything_closes_the_backend_once_and_refuses_new_plugs()
    {
        var controller = new RecordingController(3);
        await using var a = VirtualDevices.CreateKeyboard();
        await using var b = VirtualDevices.CreateKeyboard();
        await controller.PlugAsync(a);
        await controller.PlugAsync(b, 3);

        await controller.DisposeAsync();
        await controller.DisposeAsync();

        Assert.Equal(["attach 1", "attach 3", "detach 1", "detach 3", "close"], controller.Calls);
        Assert.True(controller.Closed.IsCancellationRequested);
        Assert.Null(controller.Fault);
        Assert.Equal("ControllerClosed", (await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugAsync(a))).ErrorId);
    }

    [Fact]
    public async Task A_backend_failure_closes_the_controller_and_reports_the_cause_with_each_freed_port()
    {
        await using var controller = new RecordingController(2);
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var freed = new TaskCompletionSource<VirtualPortChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        controller.PortChanged += (_, _) => throw new InvalidOperationException("a buggy listener must not matter");
        controller.PortChanged += (_, e) => { if (e.Port.State == VirtualPortState.Free) freed.TrySetResult(e); };
        await controller.PlugAsync(keyboard);
        var cause = new IOException("read /dev/vhci-ctrl: EIO");

        controller.BreakWith(cause);

        var change = await freed.Task.WaitAsync(Timeout);
        Assert.Same(cause, change.Error);
        Assert.Same(cause, controller.Fault);
        Assert.True(controller.Closed.IsCancellationRequested);
        var closed = await Assert.ThrowsAsync<UsbRedirException>(() => controller.PlugAsync(keyboard));
        Assert.Contains("read /dev/vhci-ctrl: EIO", closed.Message);
    }

    [Fact]
    public async Task Each_plugged_port_gets_a_router_for_its_device()
    {
        await using var controller = new RecordingController(1);
        await using var keyboard = VirtualDevices.CreateKeyboard();
        await controller.PlugAsync(keyboard);

        var router = controller.Routers[1];
        Assert.Same(keyboard, router.Device);
        var urb = new Urb { Id = 1, Endpoint = 0, Type = UrbTransferType.Control, Setup = new UsbSetupPacket(0, 5, 12, 0, 0), Buffer = Memory<byte>.Empty };
        await router.SubmitAsync(urb, default);
        Assert.Equal(12, controller.GetPort(1).Address);
    }

    private sealed class RecordingController(int ports) : VirtualHostController(ControllerBackend.VhciCtrl, "test.0", 7, ports)
    {
        public List<string> Calls { get; } = [];

        public Dictionary<int, UrbRouter> Routers { get; } = [];

        public Exception? AttachError { get; init; }

        public void BreakWith(Exception cause) => Fail(cause);

        protected override Task AttachAsync(int port, UrbRouter router, CancellationToken cancellationToken)
        {
            if (AttachError is { } error)
                throw error;
            lock (Calls) Calls.Add($"attach {port}");
            Routers[port] = router;
            Assert.Same(router, RouterOf(port));
            return Task.CompletedTask;
        }

        protected override Task DetachAsync(int port)
        {
            lock (Calls) Calls.Add($"detach {port}");
            return Task.CompletedTask;
        }

        protected override ValueTask CloseBackendAsync()
        {
            lock (Calls) Calls.Add("close");
            return ValueTask.CompletedTask;
        }
    }
}
