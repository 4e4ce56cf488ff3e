using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Transport;

namespace UsbRedir.Sessions;

/// <summary>
/// The usbredir usb-host role: exports one <see cref="IUsbDevice"/> to a usb-guest peer (QEMU's usb-redir, a UsbRedir
/// server) over one connection, behaving like usbredirhost: the device is announced (interface_info, ep_info,
/// device_connect) once the peer's hello is in, requests are answered, transfers run concurrently, cancels are answered at
/// once, a vanished device is reported with device_disconnect and the peer's acknowledgement awaited.
/// </summary>
public sealed partial class UsbRedirHostSession : UsbRedirSession
{
    /// <summary>
    /// Caps 1–7, which every device gets (QEMU needs 4, 5 and 6 to attach to an xHCI port); a device with bulk streams
    /// gets cap 0 on top (<see cref="CapabilitiesFor"/>).
    /// </summary>
    public const UsbRedirCapabilities HostCapabilities =
        UsbRedirCapabilities.ConnectDeviceVersion | UsbRedirCapabilities.Filter | UsbRedirCapabilities.DeviceDisconnectAck |
        UsbRedirCapabilities.EpInfoMaxPacketSize | UsbRedirCapabilities.Ids64Bit | UsbRedirCapabilities.BulkLength32Bit |
        UsbRedirCapabilities.BulkReceiving;

    private readonly object _stateGate = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _sessionEnded = new();
    private HostDeviceState _state = HostDeviceState.Announcing;
    private DeviceLayout _layout = new();
    private CancellationTokenRegistration _goneRegistration;

    public UsbRedirHostSession(IUsbDevice device, ByteStreamConnection connection, SessionLog log)
        : base(UsbRedirRole.UsbHost, CapabilitiesFor(device), connection, log)
    {
        Device = device;
        _dataDone = DataDone;
        // A transfer's packet is handled and submitted on the thread that learns it arrived, as usbredirhost reads and
        // submits on one thread: no handler here blocks (requests that wait run off the read loop), and submitting to a
        // libusb device never does (a software device's transfer may read a file before it returns).
        if (device is IInlineCompletingDevice)
            connection.PreferInlineCompletions();
    }

    public IUsbDevice Device { get; }

    /// <summary><see cref="DataDone"/>, made once: a device that calls back (<see cref="IInlineCompletingDevice"/>) gets it for every transfer.</summary>
    private readonly Action<UsbTransferResult, object> _dataDone;

    public HostDeviceState DeviceState { get { lock (_stateGate) return _state; } }

    /// <summary>The filter the peer sent (usbredirfilter string form), or null if it sent none.</summary>
    public string? PeerFilter { get; private set; }

    /// <summary>Completes when the device is no longer offered: released by us, rejected by the peer, or the session ended.</summary>
    public Task DeviceReleased => _released.Task;

    protected override void OnStarted()
    {
        _goneRegistration = Device.Gone.Register(() => _ = Task.Run(() => ReleaseDevice("the device went away")));
    }

    protected override ValueTask OnPacket(UsbRedirEvent packet)
    {
        switch (packet.PacketType)
        {
            case UsbRedirPacketType.Hello:
                AnnounceDevice();
                break;
            case UsbRedirPacketType.Reset:
                _ = Guarded("reset", ResetAsync);
                break;
            case UsbRedirPacketType.SetConfiguration:
                StartSetConfiguration(packet.Id, packet.SetConfiguration.Configuration);
                break;
            case UsbRedirPacketType.GetConfiguration:
                TrySend(packet.Id, new ConfigurationStatusHeader(IsConnected ? UsbStatus.Success : UsbStatus.IoError, Device.ActiveConfiguration));
                break;
            case UsbRedirPacketType.SetAltSetting:
                StartSetAltSetting(packet.Id, packet.SetAltSetting);
                break;
            case UsbRedirPacketType.GetAltSetting:
                GetAltSetting(packet.Id, packet.GetAltSetting.Interface);
                break;
            case UsbRedirPacketType.StartIsoStream:
                StartIsoStream(packet.Id, packet.StartIsoStream);
                break;
            case UsbRedirPacketType.StopIsoStream:
                StopStreamRequest(packet.Id, packet.StopIsoStream.Endpoint);
                break;
            case UsbRedirPacketType.IsoPacket:
                ReceiveIsoPacket(packet);
                break;
            case UsbRedirPacketType.StartInterruptReceiving:
                StartInterruptReceiving(packet.Id, packet.StartInterruptReceiving.Endpoint);
                break;
            case UsbRedirPacketType.StopInterruptReceiving:
                StopStreamRequest(packet.Id, packet.StopInterruptReceiving.Endpoint);
                break;
            case UsbRedirPacketType.StartBulkReceiving:
                StartBulkReceiving(packet.Id, packet.StartBulkReceiving);
                break;
            case UsbRedirPacketType.StopBulkReceiving:
                StopStreamRequest(packet.Id, packet.StopBulkReceiving.Endpoint);
                break;
            case UsbRedirPacketType.AllocBulkStreams:
                return AllocateBulkStreamsAsync(packet.Id, packet.AllocBulkStreams);
            case UsbRedirPacketType.FreeBulkStreams:
                return FreeBulkStreamsAsync(packet.Id, packet.FreeBulkStreams);
            case UsbRedirPacketType.CancelDataPacket:
                CancelTransfer(packet.Id);
                break;
            case UsbRedirPacketType.FilterReject:
                OnFilterReject();
                break;
            case UsbRedirPacketType.FilterFilter:
                PeerFilter = packet.FilterString;
                Log.Info($"peer filter: {PeerFilter}");
                break;
            case UsbRedirPacketType.DeviceDisconnectAck:
                OnDisconnectAck();
                break;
            case UsbRedirPacketType.ControlPacket:
                return SubmitControlAsync(packet);
            case UsbRedirPacketType.BulkPacket:
                return SubmitBulkAsync(packet);
            case UsbRedirPacketType.InterruptPacket:
                return SubmitInterruptOutAsync(packet);
            default:
                // iso_packet OUT needs an iso stream, which is not offered.
                Log.Warning($"ignored {packet.PacketType} (not supported by this device)");
                break;
        }
        return ValueTask.CompletedTask;
    }

    // Their own methods, not lambdas in OnPacket: a lambda's captured locals would cost a closure on every packet.
    private void StartSetConfiguration(ulong id, byte configuration) =>
        _ = Guarded("set_configuration", () => SetConfigurationAsync(id, configuration));

    private void StartSetAltSetting(ulong id, SetAltSettingHeader alt) =>
        _ = Guarded("set_alt_setting", () => SetAltSettingAsync(id, alt.Interface, alt.Alt));

    private bool IsConnected { get { lock (_stateGate) return _state == HostDeviceState.Connected; } }

    /// <summary>Sends interface_info, ep_info and device_connect, in the order usbredirhost uses.</summary>
    private void AnnounceDevice()
    {
        lock (_stateGate)
        {
            if (_state != HostDeviceState.Announcing)
                return;
            _state = HostDeviceState.Connected;
        }
        _layout = ComputeLayout();
        SendLayout();
        var d = Device.DeviceDescriptor.Span;
        TrySend(0, new DeviceConnectHeader(Device.Speed, d[4], d[5], d[6],
            BinaryPrimitives.ReadUInt16LittleEndian(d[8..]), BinaryPrimitives.ReadUInt16LittleEndian(d[10..]),
            BinaryPrimitives.ReadUInt16LittleEndian(d[12..])));
        Log.Info($"device announced: {Device.Description}");
    }

    private DeviceLayout ComputeLayout() => DeviceLayout.ForActiveConfiguration(Device);

    private void SendLayout()
    {
        var l = _layout;
        var n = l.Interfaces.Count;
        TrySend(0, new InterfaceInfoHeader((uint)n,
            l.Interfaces.Select(i => i.Number).ToArray(), l.Interfaces.Select(i => i.Class).ToArray(),
            l.Interfaces.Select(i => i.SubClass).ToArray(), l.Interfaces.Select(i => i.Protocol).ToArray()));
        TrySend(0, new EpInfoHeader(l.EndpointType.Select(t => (byte)t).ToArray(), l.EndpointInterval, l.EndpointInterface,
            l.EndpointMaxPacketSize, l.EndpointMaxStreams));
    }

    /// <summary>
    /// Stops offering the device: pending transfers are cancelled, device_disconnect is sent, and when the peer supports it
    /// its acknowledgement is awaited (up to <paramref name="ackTimeout"/>).
    /// </summary>
    /// <param name="why">For the log: why the device is no longer offered.</param>
    public async Task ReleaseDeviceAsync(TimeSpan ackTimeout, string why = "released locally")
    {
        ReleaseDevice(why);
        await Task.WhenAny(_released.Task, Task.Delay(ackTimeout));
        lock (_stateGate)
        {
            if (_state == HostDeviceState.Disconnecting)
            {
                Log.Warning($"the peer did not acknowledge device_disconnect within {ackTimeout.TotalSeconds:0.#} s");
                _state = HostDeviceState.Released;
            }
        }
        _released.TrySetResult();
    }

    private void ReleaseDevice(string why)
    {
        bool announced;
        lock (_stateGate)
        {
            if (_state is HostDeviceState.Released or HostDeviceState.Disconnecting or HostDeviceState.Rejected)
                return;
            announced = _state == HostDeviceState.Connected;
            _state = announced && Codec.PeerHas(UsbRedirCapabilities.DeviceDisconnectAck) ? HostDeviceState.Disconnecting : HostDeviceState.Released;
        }
        CancelAll();
        if (announced)
        {
            WithCodec(c => c.SendDeviceDisconnect());
            Log.Info($"device_disconnect sent: {why}");
        }
        if (DeviceState == HostDeviceState.Released)
            _released.TrySetResult();
    }

    private void OnDisconnectAck()
    {
        lock (_stateGate)
        {
            if (_state == HostDeviceState.Rejected)
                return; // the ack of the device_disconnect a filter_reject made us send (libusbredirparser sends it by itself)
            if (_state != HostDeviceState.Disconnecting)
            {
                Log.Error("the peer sent device_disconnect_ack without a device_disconnect");
                return;
            }
            _state = HostDeviceState.Released;
        }
        _released.TrySetResult();
    }

    private void OnFilterReject()
    {
        if (!IsConnected)
            return; // usbredirhost ignores a reject with no device
        Log.Error("the peer's filter rejected the device");
        ReleaseDevice("rejected by the peer's filter");
        lock (_stateGate)
            _state = HostDeviceState.Rejected;
        _released.TrySetResult();
    }

    protected override void OnEnded(Exception? reason)
    {
        _sessionEnded.Cancel();
        CancelAll();
        _goneRegistration.Dispose();
        lock (_stateGate)
            if (_state is not HostDeviceState.Rejected)
                _state = HostDeviceState.Released;
        _released.TrySetResult();
    }

    /// <summary>Runs a request handler off the read loop; a failure is logged and never escapes.</summary>
    private async Task Guarded(string what, Func<Task> handler)
    {
        try
        {
            await handler();
        }
        catch (Exception e)
        {
            Log.Error($"{what} failed: {e.Message}");
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _sessionEnded.Dispose();
    }
}
