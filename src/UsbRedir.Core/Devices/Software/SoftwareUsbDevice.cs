namespace UsbRedir.Devices.Software;

/// <summary>
/// Base of every device implemented in software: owns the descriptors, the chapter-9 state (address,
/// configuration, alternate settings, endpoint halts, remote wakeup), the queues of transfers waiting for data,
/// cancellation, reset and removal. Subclasses supply class requests and what their endpoints do.
/// </summary>
/// <remarks>
/// One lock (<see cref="SyncRoot"/>) guards all state, so transfers may arrive on any thread. Subclass hooks are
/// called with it held; they must not block on anything but their own quick I/O. A transfer the subclass cannot
/// satisfy yet (<see cref="TryTransfer"/> returns null) waits in its endpoint's FIFO; whenever the subclass has
/// something new it calls <see cref="ServicePendingTransfers"/>, which retries the waiting transfers in order.
/// </remarks>
public abstract partial class SoftwareUsbDevice : IUsbDevice
{
    private readonly CancellationTokenSource _gone = new();
    private readonly Dictionary<byte, EndpointState> _endpoints = [];
    private readonly Dictionary<byte, byte> _alternateSettings = [];
    private UsbDescriptorSet _descriptors;
    private bool _disposed;
    private byte _configuration;
    private byte _address;
    private bool _remoteWakeupEnabled;

    protected SoftwareUsbDevice(UsbSpeed speed, UsbDescriptorSet descriptors, string description)
    {
        ArgumentNullException.ThrowIfNull(descriptors);
        Speed = speed;
        _descriptors = descriptors;
        Description = description;
    }

    /// <summary>The lock every hook runs under; subclasses take it to change state from outside a transfer.</summary>
    protected object SyncRoot { get; } = new();

    /// <summary>
    /// What the device answers GET_DESCRIPTOR with. A device that comes back from a reset as another device (DFU's
    /// switch from run-time to DFU mode) sets new ones in <see cref="OnReset"/>; the host then enumerates it anew.
    /// </summary>
    public UsbDescriptorSet Descriptors
    {
        get { lock (SyncRoot) return _descriptors; }
        protected set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (SyncRoot) _descriptors = value;
        }
    }

    public string Description { get; }

    public UsbSpeed Speed { get; }

    public ReadOnlyMemory<byte> DeviceDescriptor => Descriptors.Device;

    public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors => Descriptors.Configurations;

    public byte ActiveConfiguration
    {
        get { lock (SyncRoot) return _configuration; }
    }

    /// <summary>The address the host assigned with SET_ADDRESS (0 after reset).</summary>
    public byte Address
    {
        get { lock (SyncRoot) return _address; }
    }

    /// <summary>Whether the host enabled remote wakeup with SET_FEATURE(DEVICE_REMOTE_WAKEUP).</summary>
    public bool RemoteWakeupEnabled
    {
        get { lock (SyncRoot) return _remoteWakeupEnabled; }
    }

    public CancellationToken Gone => _gone.Token;

    /// <summary>True once the host selected a configuration.</summary>
    protected bool IsConfigured => _configuration != 0;

    public byte GetAlternateSetting(byte interfaceNumber)
    {
        lock (SyncRoot)
            return _alternateSettings.TryGetValue(interfaceNumber, out var alternate) ? alternate : (byte)0;
    }

    public Task<UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbStatus.Cancelled);
        lock (SyncRoot)
            return Task.FromResult(_disposed ? UsbStatus.IoError : SetConfigurationLocked(configurationValue));
    }

    public Task<UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbStatus.Cancelled);
        lock (SyncRoot)
            return Task.FromResult(_disposed ? UsbStatus.IoError : SetAlternateSettingLocked(interfaceNumber, alternateSetting));
    }

    public Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Cancelled));
        lock (SyncRoot)
        {
            if (_disposed)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.IoError));
            // An OUT data stage shorter than wLength is a caller bug; an IN buffer shorter than wLength just truncates.
            if (!setup.IsDeviceToHost && data.Length < setup.Length)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Invalid));
            var stage = data[..Math.Min(setup.Length, data.Length)];
            UsbTransferResult? result;
            try
            {
                result = UsbStandardRequests.TypeOf(setup) == UsbStandardRequests.TypeStandard
                    ? HandleStandardRequest(setup, stage)
                    : HandleClassOrVendorRequest(setup, stage);
                ServicePendingTransfers();
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                result = UsbTransferResult.Failed(UsbStatus.IoError);
            }
            return Task.FromResult(result ?? UsbTransferResult.Failed(UsbStatus.Stall));
        }
    }

    public Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Cancelled));
        lock (SyncRoot)
        {
            if (_disposed)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.IoError));
            // An endpoint with streams allocated takes stream transfers only, as the xHCI driver insists (EINVAL).
            if (!_endpoints.TryGetValue(endpoint, out var state) || state.Definition.Type is not (UsbEndpointType.Bulk or UsbEndpointType.Interrupt)
                || state.Streams != 0)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Invalid));
            if (state.Halted)
                return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Stall));
            if (state.Pending.Count == 0 && TryTransferGuarded(endpoint, buffer) is { } immediate)
            {
                ServicePendingTransfers();
                return Task.FromResult(immediate);
            }

            var pending = new PendingEndpointTransfer(state, buffer);
            pending.Node = state.Pending.AddLast(pending);
            if (cancellationToken.CanBeCanceled)
                pending.Registration = cancellationToken.Register(p => CancelPending((PendingEndpointTransfer)p!), pending);
            // Register runs the callback inline if the token was cancelled meanwhile; the task is complete then.
            return pending.Completion.Task;
        }
    }

    public Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbStatus.Cancelled);
        lock (SyncRoot)
            return Task.FromResult(_disposed ? UsbStatus.IoError : ClearHaltLocked(endpoint));
    }

    public Task<UsbStatus> ResetAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return Task.FromResult(UsbStatus.Cancelled);
        lock (SyncRoot)
        {
            if (_disposed)
                return Task.FromResult(UsbStatus.IoError);
            CompleteAllPending(UsbStatus.Cancelled);
            _endpoints.Clear();
            _alternateSettings.Clear();
            _configuration = 0;
            _address = 0;
            _remoteWakeupEnabled = false;
            OnReset();
            return Task.FromResult(UsbStatus.Success);
        }
    }

    /// <summary>Unplugs the device: <see cref="Gone"/> fires, every pending and later transfer fails with IoError, resources are released.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (SyncRoot)
        {
            if (_disposed)
                return;
            _disposed = true;
            CompleteAllPending(UsbStatus.IoError);
            StopIsoClock();
        }
        try
        {
            _gone.Cancel();
        }
        catch (AggregateException)
        {
            // A Gone subscriber threw; unplugging must still finish and release the device's resources.
        }
        await DisposeCoreAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Moves data on a bulk or interrupt endpoint of the active configuration (never halted when called).
    /// Return the result, or null when the device has nothing to give or cannot take data yet: the transfer then
    /// waits until <see cref="ServicePendingTransfers"/> retries it. Called with <see cref="SyncRoot"/> held.
    /// </summary>
    protected abstract UsbTransferResult? TryTransfer(byte endpoint, Memory<byte> buffer);

    /// <summary>Class and vendor requests on endpoint 0; null means stall. Called with <see cref="SyncRoot"/> held.</summary>
    protected virtual UsbTransferResult? HandleClassOrVendorRequest(UsbSetupPacket setup, Memory<byte> data) => null;

    /// <summary>
    /// Descriptors beyond the standard ones, e.g. HID report descriptors requested with recipient interface.
    /// Null means stall. Called with <see cref="SyncRoot"/> held.
    /// </summary>
    protected virtual ReadOnlyMemory<byte>? GetOtherDescriptor(UsbSetupPacket setup) => null;

    /// <summary>The device returned to its default state (port reset). Called with <see cref="SyncRoot"/> held.</summary>
    protected virtual void OnReset()
    {
    }

    /// <summary>A configuration was selected (0 = unconfigured). Called with <see cref="SyncRoot"/> held.</summary>
    protected virtual void OnConfigurationChanged(byte configurationValue)
    {
    }

    /// <summary>The host cleared a halt on an endpoint. Called with <see cref="SyncRoot"/> held.</summary>
    protected virtual void OnHaltCleared(byte endpoint)
    {
    }

    /// <summary>Releases resources after the device is gone; no hook runs afterwards.</summary>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;

    /// <summary>Retries waiting transfers, oldest first per endpoint, until none can progress. Call with <see cref="SyncRoot"/> held.</summary>
    protected void ServicePendingTransfers()
    {
        bool progressed;
        do
        {
            progressed = false;
            foreach (var state in _endpoints.Values)
            {
                while (state.Pending.First is { } node)
                {
                    if (state.Halted)
                    {
                        Complete(node.Value, UsbTransferResult.Failed(UsbStatus.Stall));
                        continue;
                    }
                    // Detach the transfer while the subclass works on it, so a halt it raises stalls only the
                    // transfers behind this one; put it back in front if it has to keep waiting.
                    state.Pending.RemoveFirst();
                    var result = TryTransferGuarded(state.Definition.Address, node.Value.Buffer);
                    if (result is null)
                    {
                        state.Pending.AddFirst(node);
                        break;
                    }
                    Complete(node.Value, result.Value);
                    progressed = true;
                }
            }
            progressed |= ServicePendingStreamTransfers();
        }
        while (progressed);
    }

    /// <summary>Stalls an endpoint; a <paramref name="wedge"/> keeps it stalled through CLEAR_FEATURE until <see cref="UnwedgeEndpoint"/>.</summary>
    protected void HaltEndpoint(byte endpoint, bool wedge = false)
    {
        if (!_endpoints.TryGetValue(endpoint, out var state))
            return;
        state.Halted = true;
        state.Wedged |= wedge;
        while (state.Pending.First is { } node)
            Complete(node.Value, UsbTransferResult.Failed(UsbStatus.Stall));
        CompletePendingIso(state, UsbStatus.Stall);
        CompleteStreamPending(state, UsbStatus.Stall); // a halt stops every stream of the endpoint
    }

    /// <summary>Lets the next CLEAR_FEATURE(ENDPOINT_HALT) clear the halt again.</summary>
    protected void UnwedgeEndpoint(byte endpoint)
    {
        if (_endpoints.TryGetValue(endpoint, out var state))
            state.Wedged = false;
    }

    private UsbTransferResult? TryTransferGuarded(byte endpoint, Memory<byte> buffer)
    {
        try
        {
            return TryTransfer(endpoint, buffer);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The subclass maps its own I/O errors; anything that slips through fails this transfer, not the caller's thread.
            return UsbTransferResult.Failed(UsbStatus.IoError);
        }
    }

    private void CancelPending(PendingEndpointTransfer transfer)
    {
        lock (SyncRoot)
        {
            if (transfer.Node?.List is not { } queue)
                return;
            queue.Remove(transfer.Node); // the endpoint's FIFO, or its stream's
            transfer.Node = null;
            transfer.Completion.TrySetResult(UsbTransferResult.Failed(UsbStatus.Cancelled));
        }
    }

    private static void Complete(PendingEndpointTransfer transfer, UsbTransferResult result)
    {
        transfer.Node?.List?.Remove(transfer.Node);
        transfer.Node = null;
        // Unregister, not Dispose: Dispose would wait for a running cancel callback that is itself waiting for our lock.
        transfer.Registration.Unregister();
        transfer.Completion.TrySetResult(result);
    }

    private void CompleteAllPending(UsbStatus status)
    {
        foreach (var state in _endpoints.Values)
            CompletePending(state, status);
    }

    private static void CompletePending(EndpointState state, UsbStatus status)
    {
        while (state.Pending.First is { } node)
            Complete(node.Value, UsbTransferResult.Failed(status));
        CompletePendingIso(state, status);
        CompleteStreamPending(state, status);
    }

    private UsbStatus SetConfigurationLocked(byte value)
    {
        if (value == 0)
        {
            CompleteAllPending(UsbStatus.Cancelled);
            _endpoints.Clear();
            _alternateSettings.Clear();
            _configuration = 0;
            OnConfigurationChanged(0);
            return UsbStatus.Success;
        }

        var configuration = Descriptors.Definition.Configurations.FirstOrDefault(c => c.Value == value);
        if (configuration is null)
            return UsbStatus.Stall;
        // SET_CONFIGURATION (even to the current value) resets alternate settings and clears every halt (USB 2.0 9.4.5, 9.4.7).
        CompleteAllPending(UsbStatus.Cancelled);
        _endpoints.Clear();
        _alternateSettings.Clear();
        _configuration = value;
        foreach (var iface in configuration.Interfaces.Where(i => i.AlternateSetting == 0))
        {
            _alternateSettings[iface.Number] = 0;
            AddEndpoints(iface);
        }
        OnConfigurationChanged(value);
        ServicePendingTransfers();
        return UsbStatus.Success;
    }

    private UsbStatus SetAlternateSettingLocked(byte interfaceNumber, byte alternateSetting)
    {
        var configuration = ActiveConfigurationDefinition();
        var setting = configuration?.Interfaces.FirstOrDefault(i => i.Number == interfaceNumber && i.AlternateSetting == alternateSetting);
        if (setting is null)
            return UsbStatus.Stall;
        foreach (var state in _endpoints.Values.Where(e => e.InterfaceNumber == interfaceNumber).ToList())
        {
            CompletePending(state, UsbStatus.Cancelled);
            _endpoints.Remove(state.Definition.Address);
        }
        _alternateSettings[interfaceNumber] = alternateSetting;
        AddEndpoints(setting);
        return UsbStatus.Success;
    }

    private void AddEndpoints(UsbInterfaceDefinition setting)
    {
        foreach (var endpoint in setting.Endpoints)
            _endpoints[endpoint.Address] = new EndpointState(endpoint, setting.Number);
    }

    private UsbStatus ClearHaltLocked(byte endpoint)
    {
        if ((endpoint & 0x0F) == 0)
            return UsbStatus.Success;
        if (!_endpoints.TryGetValue(endpoint, out var state))
            return UsbStatus.Stall;
        if (state.Wedged)
            return UsbStatus.Success;
        state.Halted = false;
        OnHaltCleared(endpoint);
        ServicePendingTransfers();
        return UsbStatus.Success;
    }

    private UsbConfigurationDefinition? ActiveConfigurationDefinition() =>
        _configuration == 0 ? null : Descriptors.Definition.Configurations.FirstOrDefault(c => c.Value == _configuration);
}
