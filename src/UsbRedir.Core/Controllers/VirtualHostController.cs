using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;

namespace UsbRedir.Controllers;

/// <summary>
/// What every backend shares: the port table, choosing a free port, the plug/unplug life cycle, unplugging a device
/// whose <see cref="IUsbDevice.Gone"/> fires, failure handling and disposal. A backend only attaches and detaches a port
/// in the kernel, feeds each port's URBs to the <see cref="UrbRouter"/> it was given, and closes its kernel side.
/// </summary>
public abstract class VirtualHostController : IVirtualHostController
{
    /// <summary>
    /// The most ports a controller can have, in every backend and front end: a USB 2.0 root hub's limit (the kernel's
    /// USB_MAXCHILDREN, and USBREDIR_VHCI_MAX_PORTS of the usbredir_vhci ABI).
    /// </summary>
    public const int MaxPorts = 31;

    private readonly object _lock = new();
    private readonly Port[] _ports;
    private readonly CancellationTokenSource _closed = new();
    private Task? _disposal;
    private Exception? _fault;
    private bool _closing;

    protected VirtualHostController(ControllerBackend backend, string name, int busNumber, int portCount)
    {
        if (backend == ControllerBackend.Auto)
            throw new ArgumentOutOfRangeException(nameof(backend), "A controller reports the backend it really uses.");
        ArgumentOutOfRangeException.ThrowIfLessThan(portCount, 1);
        Backend = backend;
        Name = name;
        BusNumber = busNumber;
        PortCount = portCount;
        _ports = Enumerable.Range(1, portCount).Select(n => new Port(n)).ToArray();
    }

    public ControllerBackend Backend { get; }

    public string Name { get; }

    public int BusNumber { get; }

    public int PortCount { get; }

    public CancellationToken Closed => _closed.Token;

    public Exception? Fault
    {
        get { lock (_lock) return _fault; }
    }

    public event EventHandler<VirtualPortChangedEventArgs>? PortChanged;

    public IReadOnlyList<VirtualPortInfo> GetPorts()
    {
        lock (_lock)
            return _ports.Select(p => p.Snapshot()).ToArray();
    }

    public VirtualPortInfo GetPort(int port)
    {
        lock (_lock)
            return PortAt(port).Snapshot();
    }

    public Task<int> PlugAsync(IUsbDevice device, int port = 0, CancellationToken cancellationToken = default) =>
        PlugAsync(device, port, owned: false, cancellationToken);

    public Task<int> PlugOwnedAsync(IUsbDevice device, int port = 0, CancellationToken cancellationToken = default) =>
        PlugAsync(device, port, owned: true, cancellationToken);

    private async Task<int> PlugAsync(IUsbDevice device, int port, bool owned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        Port slot;
        lock (_lock)
        {
            ThrowIfClosed();
            if (_ports.FirstOrDefault(p => ReferenceEquals(p.Router?.Device, device)) is { } holder)
                throw ControllerErrors.DeviceAlreadyPlugged(Name, holder.Number, device);
            if (port == 0)
                slot = _ports.FirstOrDefault(p => p.State == VirtualPortState.Free) ?? throw ControllerErrors.NoFreePort(Name, PortCount);
            else
            {
                slot = PortAt(port);
                if (slot.State != VirtualPortState.Free)
                    throw ControllerErrors.PortInUse(Name, port, slot.Router!.Device);
            }
            slot.State = VirtualPortState.Attaching;
            slot.Router = new UrbRouter(device);
        }

        try
        {
            await AttachAsync(slot.Number, slot.Router, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_lock)
                slot.Clear();
            throw;
        }

        bool closedMeanwhile;
        lock (_lock)
        {
            closedMeanwhile = _closing;
            if (!closedMeanwhile)
            {
                slot.State = VirtualPortState.Plugged;
                slot.OwnsDevice = owned; // from here on the port disposes it when it leaves (DetachGuardedAsync)
            }
        }
        if (closedMeanwhile)
        {
            // Disposal or a failure overtook the attach; it did not see this port as plugged, so take it back here.
            await DetachGuardedAsync(slot).ConfigureAwait(false);
            throw ControllerErrors.Closed(Name, Fault);
        }
        // Registered after the state change so a device already gone unplugs at once, through the normal path.
        slot.GoneRegistration = device.Gone.Register(() => _ = UnplugGoneDeviceAsync(slot.Number, device));
        Raise(slot);
        return slot.Number;
    }

    public async Task UnplugAsync(int port, CancellationToken cancellationToken = default)
    {
        Port slot;
        lock (_lock)
        {
            slot = PortAt(port);
            if (slot.State != VirtualPortState.Plugged)
                throw slot.State == VirtualPortState.Free
                    ? ControllerErrors.PortEmpty(Name, port)
                    : new UsbRedirException("ControllerPortBusy", UsbRedirErrorCategory.ResourceBusy,
                        $"Port {port} of controller {Name} is {slot.State.ToString().ToLowerInvariant()} right now.",
                        "Wait for the plug or unplug under way to finish, then try again.", port);
            slot.State = VirtualPortState.Detaching;
        }
        cancellationToken.ThrowIfCancellationRequested();
        await DetachGuardedAsync(slot).ConfigureAwait(false);
        Raise(slot);
    }

    /// <summary>Unplugs every port, then closes the backend. Idempotent; backend trouble is swallowed.</summary>
    public ValueTask DisposeAsync()
    {
        Task disposal;
        // On the thread pool, never under the lock: disposal raises PortChanged and waits for the backend.
        lock (_lock)
            disposal = _disposal ??= Task.Run(DisposeCoreAsync);
        GC.SuppressFinalize(this);
        return new ValueTask(disposal);
    }

    /// <summary>
    /// Makes the kernel see a device of <paramref name="router"/>'s device speed in <paramref name="port"/>, and from then on
    /// feeds that port's URBs to <paramref name="router"/>. Throw a <see cref="UsbRedirException"/> when that is impossible.
    /// </summary>
    protected abstract Task AttachAsync(int port, UrbRouter router, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the kernel see <paramref name="port"/> empty, and stops routing its URBs (cancel the ones still at the device).
    /// Also called after <see cref="Fail"/>; should not throw (exceptions are dropped).
    /// </summary>
    protected abstract Task DetachAsync(int port);

    /// <summary>Removes the controller from the kernel. Called once, after every port was detached. Should not throw.</summary>
    protected abstract ValueTask CloseBackendAsync();

    /// <summary>The router of a plugged (or attaching) port, or null.</summary>
    protected UrbRouter? RouterOf(int port)
    {
        lock (_lock)
            return port >= 1 && port <= PortCount ? _ports[port - 1].Router : null;
    }

    /// <summary>
    /// The backend cannot go on (its kernel side broke): records why, closes the controller and frees every port,
    /// telling <see cref="PortChanged"/> listeners. Call from any thread; later calls are ignored.
    /// </summary>
    protected void Fail(Exception fault)
    {
        lock (_lock)
        {
            if (_closing || _fault is not null)
                return;
            _fault = fault;
        }
        // Not awaited: Fail is called from the backend's own threads, which disposal may be waiting for.
        _ = Task.Run(() => DisposeAsync().AsTask());
    }

    private async Task DisposeCoreAsync()
    {
        await CloseAsync(Fault).ConfigureAwait(false);
        try
        {
            await CloseBackendAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Disposal must finish; the kernel side also goes away with the process.
        }
    }

    /// <summary>Marks the controller closed and detaches every plugged port.</summary>
    private async Task CloseAsync(Exception? fault)
    {
        List<Port> plugged;
        bool cancel;
        lock (_lock)
        {
            // Closed from here on (ThrowIfClosed reads the flag under the lock); listeners run after it is released.
            cancel = !_closing;
            _closing = true;
            plugged = _ports.Where(p => p.State == VirtualPortState.Plugged).ToList();
            foreach (var p in plugged)
                p.State = VirtualPortState.Detaching;
        }
        if (cancel)
            _closed.Cancel();
        foreach (var p in plugged)
        {
            await DetachGuardedAsync(p).ConfigureAwait(false);
            Raise(p, fault);
        }
    }

    private async Task DetachGuardedAsync(Port slot)
    {
        slot.GoneRegistration.Dispose();
        try
        {
            await DetachAsync(slot.Number).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The port is given up either way; a backend that cannot detach has failed as a whole.
            Fail(exception);
        }
        IUsbDevice? owned;
        lock (_lock)
        {
            owned = slot.OwnsDevice ? slot.Router?.Device : null;
            slot.Clear();
        }
        if (owned is not null)
        {
            try
            {
                await owned.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // Closing the device it owned must not stop the unplug; the device reports its own trouble.
            }
        }
    }

    private async Task UnplugGoneDeviceAsync(int port, IUsbDevice device)
    {
        try
        {
            if (!ReferenceEquals(RouterOf(port)?.Device, device))
                return;
            await UnplugAsync(port).ConfigureAwait(false);
        }
        catch (UsbRedirException)
        {
            // Unplugged meanwhile by someone else, or the controller closed: the port is free either way.
        }
    }

    private void Raise(Port slot, Exception? error = null)
    {
        VirtualPortInfo info;
        lock (_lock)
            info = slot.Snapshot();
        var args = new VirtualPortChangedEventArgs(info, error);
        // One by one, so a throwing listener neither stops the others nor breaks plugging or the backend's threads.
        foreach (var handler in PortChanged?.GetInvocationList() ?? [])
        {
            try
            {
                ((EventHandler<VirtualPortChangedEventArgs>)handler)(this, args);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // Dropped, as documented.
            }
        }
    }

    private Port PortAt(int port) =>
        port >= 1 && port <= PortCount ? _ports[port - 1] : throw ControllerErrors.PortNumberInvalid(Name, port, PortCount);

    private void ThrowIfClosed()
    {
        if (_closing)
            throw ControllerErrors.Closed(Name, _fault);
    }

    private sealed class Port(int number)
    {
        public int Number { get; } = number;

        public VirtualPortState State { get; set; }

        public UrbRouter? Router { get; set; }

        public CancellationTokenRegistration GoneRegistration { get; set; }

        /// <summary>The port disposes its device when the device leaves it (<see cref="PlugOwnedAsync"/>).</summary>
        public bool OwnsDevice { get; set; }

        public VirtualPortInfo Snapshot() => new(Number, State, Router?.Device, Router?.Address ?? 0);

        public void Clear()
        {
            State = VirtualPortState.Free;
            Router = null;
            GoneRegistration = default;
            OwnsDevice = false;
        }
    }
}
