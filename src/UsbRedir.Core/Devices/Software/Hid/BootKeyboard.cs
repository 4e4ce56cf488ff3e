namespace UsbRedir.Devices.Software.Hid;

/// <summary>
/// A HID boot keyboard (interface 03/01/01) whose keys are scripted: <see cref="Type"/>, <see cref="Press"/>,
/// <see cref="Release"/>. Every change of the pressed keys becomes one 8-byte report, queued and handed in order
/// to interrupt IN transfers; an IN waits while the queue is empty (and, with a non-zero idle rate, repeats the
/// current report when the idle period passes, HID 1.11 7.2.4). Create one with <see cref="VirtualDevices.CreateKeyboard"/>.
/// </summary>
public sealed class BootKeyboard : SoftwareUsbDevice
{
    public const byte InterruptInEndpoint = 0x81;
    public const byte InterfaceNumber = 0;

    /// <summary>HID 1.11 7.2.4: the recommended default idle rate of a keyboard is 500 ms (125 × 4 ms).</summary>
    public const byte DefaultIdleRate = 125;

    /// <summary>How long <see cref="TypeWhenConfiguredAsync"/> waits after configuration unless told otherwise: long enough for usbhid to bind.</summary>
    public static readonly TimeSpan DefaultTypingDelay = TimeSpan.FromSeconds(1);

    private readonly Queue<BootKeyboardReport> _reports = new();
    private readonly List<KeyboardKey> _heldKeys = [];
    private readonly List<TaskCompletionSource> _drainWaiters = [];
    private readonly Timer _idleTimer;
    private KeyboardModifiers _heldModifiers;
    private BootKeyboardReport _lastSent;
    private long _lastSentAt = Environment.TickCount64;
    private byte _idleRate = DefaultIdleRate;
    private byte _protocol = HidRequests.ProtocolReport;
    private KeyboardLeds _leds;
    private bool _gone;

    internal BootKeyboard(UsbSpeed speed)
        : base(speed, BuildDescriptors(speed), $"UsbRedir virtual keyboard ({speed} speed)")
    {
        _idleTimer = new Timer(_ => OnIdleTimer());
    }

    /// <summary>
    /// Raised after the host changed the LEDs (SET_REPORT output report), on a thread-pool thread. Exceptions thrown
    /// by handlers are dropped: they must not take down the transfer path.
    /// </summary>
    public event EventHandler<KeyboardLeds>? LedsChanged;

    /// <summary>The LEDs the host last set (Num/Caps/Scroll Lock...).</summary>
    public KeyboardLeds Leds
    {
        get { lock (SyncRoot) return _leds; }
    }

    /// <summary>True when the host selected the boot protocol (SET_PROTOCOL 0); the report bytes are identical either way.</summary>
    public bool BootProtocol
    {
        get { lock (SyncRoot) return _protocol == HidRequests.ProtocolBoot; }
    }

    /// <summary>Idle rate in 4 ms units (0 = report only on change).</summary>
    public byte IdleRate
    {
        get { lock (SyncRoot) return _idleRate; }
    }

    /// <summary>Reports queued but not yet read by the host.</summary>
    public int QueuedReports
    {
        get { lock (SyncRoot) return _reports.Count; }
    }

    /// <summary>Types <paramref name="text"/> (syntax: <see cref="KeyboardScript"/>): a press and a release report per key, on top of keys held with <see cref="Press"/>.</summary>
    /// <exception cref="UsbRedirException">The text holds something the US layout cannot type; nothing is queued then.</exception>
    public void Type(string text)
    {
        var strokes = KeyboardScript.Parse(text);
        lock (SyncRoot)
        {
            foreach (var stroke in strokes)
            {
                var keys = new List<KeyboardKey>(_heldKeys);
                if (stroke.Key != KeyboardKey.None && !keys.Contains(stroke.Key))
                {
                    if (keys.Count == 6)
                        keys.RemoveAt(0);
                    keys.Add(stroke.Key);
                }
                Enqueue(BootKeyboardReport.FromKeys(_heldModifiers | stroke.Modifiers, keys));
                Enqueue(CurrentState());
            }
            ServicePendingTransfers();
        }
    }

    /// <summary>Presses and holds a key (modifier keys set their bit in the modifier byte): one report.</summary>
    public void Press(KeyboardKey key)
    {
        lock (SyncRoot)
        {
            if (ModifierBit(key) is { } modifier)
                _heldModifiers |= modifier;
            else if (key != KeyboardKey.None && !_heldKeys.Contains(key))
            {
                // The boot report has six key slots; a seventh key is where real keyboards report rollover errors.
                if (_heldKeys.Count == 6)
                    throw new UsbRedirException("KeyboardRolloverExceeded", UsbRedirErrorCategory.InvalidOperation,
                        $"Cannot press {key}: six keys are already held, the most a boot keyboard report can carry.",
                        "Release a key first.", key);
                _heldKeys.Add(key);
            }
            Enqueue(CurrentState());
            ServicePendingTransfers();
        }
    }

    /// <summary>Releases a held key: one report.</summary>
    public void Release(KeyboardKey key)
    {
        lock (SyncRoot)
        {
            if (ModifierBit(key) is { } modifier)
                _heldModifiers &= ~modifier;
            else
                _heldKeys.Remove(key);
            Enqueue(CurrentState());
            ServicePendingTransfers();
        }
    }

    /// <summary>Releases every held key and modifier: one report.</summary>
    public void ReleaseAll()
    {
        lock (SyncRoot)
        {
            _heldKeys.Clear();
            _heldModifiers = KeyboardModifiers.None;
            Enqueue(CurrentState());
            ServicePendingTransfers();
        }
    }

    /// <summary>
    /// Types <paramref name="text"/> once the host has configured the keyboard, <paramref name="delay"/> later: keys
    /// typed before the host's driver listens are lost, and a driver that has just bound may still be setting up.
    /// The script is checked at once (a bad script throws here, before anything runs); the returned task never
    /// faults, so front ends can leave it running in the background: true when the host has read every keystroke,
    /// false when the keyboard went away or <paramref name="cancellationToken"/> fired first.
    /// </summary>
    /// <exception cref="UsbRedirException">The text holds something the US layout cannot type.</exception>
    public Task<bool> TypeWhenConfiguredAsync(string text, TimeSpan delay, CancellationToken cancellationToken = default)
    {
        KeyboardTyping.Create(text, delay); // the typing options' one check
        return Run();

        async Task<bool> Run()
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Gone);
            try
            {
                // No event marks SET_CONFIGURATION from outside the lock, and a 50 ms poll costs nothing here.
                while (ActiveConfiguration == 0)
                    await Task.Delay(50, linked.Token).ConfigureAwait(false);
                await Task.Delay(delay, linked.Token).ConfigureAwait(false);
                Type(text);
                await WhenAllReportsDeliveredAsync(linked.Token).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is OperationCanceledException or UsbRedirException)
            {
                return false;
            }
        }
    }

    /// <summary>Completes when the host has read every queued report; fails if the keyboard is unplugged first.</summary>
    public Task WhenAllReportsDeliveredAsync(CancellationToken cancellationToken = default)
    {
        lock (SyncRoot)
        {
            if (_reports.Count == 0)
                return Task.CompletedTask;
            if (_gone)
                return Task.FromException(Unplugged());
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _drainWaiters.Add(waiter);
            return waiter.Task.WaitAsync(cancellationToken);
        }
    }

    protected override UsbTransferResult? TryTransfer(byte endpoint, Memory<byte> buffer)
    {
        if (endpoint != InterruptInEndpoint)
            return UsbTransferResult.Failed(UsbStatus.Invalid);
        BootKeyboardReport report;
        if (_reports.TryDequeue(out var queued))
        {
            report = queued;
            if (_reports.Count == 0)
                CompleteDrainWaiters(null);
        }
        else if (_idleRate != 0 && Environment.TickCount64 - _lastSentAt >= _idleRate * 4L)
        {
            report = _lastSent;
        }
        else
        {
            if (_idleRate != 0)
                _idleTimer.Change(Math.Max(1, _lastSentAt + _idleRate * 4L - Environment.TickCount64), Timeout.Infinite);
            return null;
        }

        // An 8-byte report into a smaller buffer would overflow on a real bus.
        if (buffer.Length < BootKeyboardReport.Size)
            return UsbTransferResult.Failed(UsbStatus.Babble);
        report.WriteTo(buffer.Span);
        _lastSent = report;
        _lastSentAt = Environment.TickCount64;
        return UsbTransferResult.Ok(BootKeyboardReport.Size);
    }

    protected override ReadOnlyMemory<byte>? GetOtherDescriptor(UsbSetupPacket setup)
    {
        if (setup.RequestType != 0x81 || setup.Index != InterfaceNumber)
            return null;
        return (setup.Value >> 8) switch
        {
            UsbDescriptorTypes.Hid when (byte)setup.Value == 0 => BootKeyboardDescriptors.Hid,
            UsbDescriptorTypes.HidReport when (byte)setup.Value == 0 => BootKeyboardDescriptors.Report,
            _ => null,
        };
    }

    protected override UsbTransferResult? HandleClassOrVendorRequest(UsbSetupPacket setup, Memory<byte> data)
    {
        if (setup.Index != InterfaceNumber)
            return null;
        var high = (byte)(setup.Value >> 8);
        var low = (byte)setup.Value;
        switch (setup.RequestType, setup.Request)
        {
            case (0xA1, HidRequests.GetReport) when high == HidRequests.ReportTypeInput && low == 0:
                return Reply(_lastSent.ToArray(), data.Span);
            case (0xA1, HidRequests.GetReport) when high == HidRequests.ReportTypeOutput && low == 0:
                return Reply([(byte)_leds], data.Span);
            case (0x21, HidRequests.SetReport) when high == HidRequests.ReportTypeOutput && low == 0 && setup.Length >= 1:
                SetLeds((KeyboardLeds)(data.Span[0] & 0x1F));
                return UsbTransferResult.Ok(setup.Length);
            case (0xA1, HidRequests.GetIdle) when high == 0 && setup.Length >= 1:
                return Reply([_idleRate], data.Span);
            case (0x21, HidRequests.SetIdle) when setup.Length == 0:
                // One report, so report ID 0 ("all") and our only ID are the same thing.
                _idleRate = high;
                _lastSentAt = Environment.TickCount64;
                return UsbTransferResult.Ok(0);
            case (0xA1, HidRequests.GetProtocol) when setup.Value == 0 && setup.Length >= 1:
                return Reply([_protocol], data.Span);
            case (0x21, HidRequests.SetProtocol) when setup.Value <= HidRequests.ProtocolReport && setup.Length == 0:
                _protocol = (byte)setup.Value;
                return UsbTransferResult.Ok(0);
            default:
                return null;
        }
    }

    protected override void OnReset()
    {
        // Device state returns to power-on defaults; queued keystrokes are the user's input and stay queued.
        _idleRate = DefaultIdleRate;
        _protocol = HidRequests.ProtocolReport;
        _leds = KeyboardLeds.None;
    }

    protected override ValueTask DisposeCoreAsync()
    {
        lock (SyncRoot)
        {
            _gone = true;
            CompleteDrainWaiters(Unplugged());
        }
        return _idleTimer.DisposeAsync();
    }

    private void OnIdleTimer()
    {
        // Thread-pool callback: an exception here would take the whole process (a pwsh host) down, so none escapes.
        try
        {
            lock (SyncRoot)
                ServicePendingTransfers();
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the timer firing and the lock: nothing left to service.
        }
#pragma warning disable CA1031 // A bug in servicing must fail the transfers, not the process.
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            lock (SyncRoot)
                CompleteDrainWaiters(exception);
        }
    }

    private void SetLeds(KeyboardLeds leds)
    {
        if (leds == _leds)
            return;
        _leds = leds;
        var handler = LedsChanged;
        if (handler is null)
            return;
        ThreadPool.QueueUserWorkItem(_ =>
        {
            try
            {
                handler(this, leds);
            }
#pragma warning disable CA1031 // A subscriber's bug must not crash the process from a pool thread.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        });
    }

    private void Enqueue(BootKeyboardReport report) => _reports.Enqueue(report);

    private BootKeyboardReport CurrentState() => BootKeyboardReport.FromKeys(_heldModifiers, _heldKeys);

    private void CompleteDrainWaiters(Exception? failure)
    {
        foreach (var waiter in _drainWaiters)
        {
            if (failure is null)
                waiter.TrySetResult();
            else
                waiter.TrySetException(failure);
        }
        _drainWaiters.Clear();
    }

    private static UsbRedirException Unplugged() =>
        new("KeyboardUnplugged", UsbRedirErrorCategory.InvalidOperation,
            "The virtual keyboard was unplugged before the host read every keystroke.", "Keep the keyboard plugged in until typing finishes.");

    private static KeyboardModifiers? ModifierBit(KeyboardKey key) =>
        key is >= KeyboardKey.LeftControl and <= KeyboardKey.RightGui ? (KeyboardModifiers)(1 << (key - KeyboardKey.LeftControl)) : null;

    private static UsbDescriptorSet BuildDescriptors(UsbSpeed speed)
    {
        if (speed is not (UsbSpeed.Low or UsbSpeed.Full or UsbSpeed.High))
            throw new UsbRedirException("KeyboardSpeedUnsupported", UsbRedirErrorCategory.InvalidArgument,
                $"A virtual keyboard cannot run at {speed} speed.", "Use Full (the default), Low or High speed.", speed);
        return DescriptorBuilder.Build(Define(speed), speed == UsbSpeed.High ? Define(UsbSpeed.Full) : null);
    }

    private static UsbDeviceDefinition Define(UsbSpeed speed)
    {
        // Poll every 10 ms at low/full speed; at high speed bInterval 7 means 2^6 microframes = 8 ms.
        var interval = (byte)(speed == UsbSpeed.High ? 7 : 10);
        var keyboard = new UsbInterfaceDefinition(InterfaceNumber, 0,
            InterfaceClass: 0x03, InterfaceSubClass: 0x01, InterfaceProtocol: 0x01, Name: null,
            [new UsbEndpointDefinition(InterruptInEndpoint, UsbEndpointType.Interrupt, BootKeyboardReport.Size, interval)])
        {
            ClassDescriptors = BootKeyboardDescriptors.Hid,
        };
        return new UsbDeviceDefinition(VirtualDevices.VendorId, VirtualDevices.KeyboardProductId, VirtualDevices.DeviceRelease,
            DeviceClass: 0, DeviceSubClass: 0, DeviceProtocol: 0, MaxPacketSize0: (byte)(speed == UsbSpeed.Low ? 8 : 64),
            VirtualDevices.Manufacturer, "UsbRedir Virtual Keyboard", SerialNumber: null,
            [new UsbConfigurationDefinition(1, null, UsbConfigurationDefinition.RemoteWakeup, MaxPowerMilliamps: 100, [keyboard])]);
    }
}
