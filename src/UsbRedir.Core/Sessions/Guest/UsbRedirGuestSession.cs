using System.Threading.Channels;
using UsbRedir.Filtering;
using UsbRedir.Protocol;
using UsbRedir.Transport;

namespace UsbRedir.Sessions;

/// <summary>
/// The usbredir usb-guest role: uses the device a usb-host peer (usbredirect, a UsbRedir client, spice-gtk) announces
/// over one connection, and presents it as a <see cref="RemoteUsbDevice"/> (an <see cref="Devices.IUsbDevice"/>) that a
/// virtual host controller or any program can submit to, cancel and reset.
/// <para>Behaves like QEMU's usb-redir: collects interface_info and ep_info, checks device_connect against its filter
/// (filter_reject when refused), reads the device and configuration descriptors with GET_DESCRIPTOR, follows configuration
/// and alternate-setting changes, acknowledges device_disconnect once the device's transfers have failed, and gives up
/// on requests the peer never answers (<see cref="UsbRedirGuestOptions.RequestTimeout"/>). One connection may carry
/// several devices in turn; <see cref="NextDeviceAsync"/> hands out each one once its descriptors are read.</para>
/// </summary>
public sealed partial class UsbRedirGuestSession : UsbRedirSession
{
    /// <summary>
    /// What we advertise: like QEMU's usb-redir with streams on (enable_streams) and without buffered bulk receiving (the
    /// device API has none). The codec always adds device_disconnect_ack for a guest.
    /// </summary>
    public const UsbRedirCapabilities GuestCapabilities =
        UsbRedirCapabilities.BulkStreams |
        UsbRedirCapabilities.ConnectDeviceVersion | UsbRedirCapabilities.Filter | UsbRedirCapabilities.DeviceDisconnectAck |
        UsbRedirCapabilities.EpInfoMaxPacketSize | UsbRedirCapabilities.Ids64Bit | UsbRedirCapabilities.BulkLength32Bit;

    private readonly Channel<RemoteUsbDevice> _attached = Channel.CreateBounded<RemoteUsbDevice>(
        new BoundedChannelOptions(4) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false });
    private readonly CancellationTokenSource _sessionEnded = new();
    private readonly object _deviceGate = new();
    private readonly string? _filterText;
    // The announcement in progress, touched by the read loop only.
    private InterfaceInfoHeader? _interfaceInfo;
    private EpInfoHeader? _epInfo;
    private bool _deviceAnnounced;
    private volatile bool _rejected;
    private RemoteUsbDevice? _device;
    private int _rejectedCount;
    private string? _lastRejection;

    /// <param name="connection">A connected byte stream to a usb-host peer (not yet started).</param>
    /// <param name="log">Where the session logs.</param>
    /// <param name="options">Filter and timeouts; null for the defaults (accept every device).</param>
    /// <exception cref="UsbRedirException">The filter rules are out of range (FilterValueOutOfRange).</exception>
    public UsbRedirGuestSession(ByteStreamConnection connection, SessionLog log, UsbRedirGuestOptions? options = null)
        : base(UsbRedirRole.UsbGuest, GuestCapabilities, connection, log)
    {
        Options = options ?? new UsbRedirGuestOptions();
        Options.Validate();
        _completions = new CompletionDispatcher<RequestReply>(this);
        _filterText = (Options.Filter ?? Options.ClientFilter) is { } rules ? UsbRedirFilter.Format(rules) : null;
    }

    public UsbRedirGuestOptions Options { get; }

    /// <summary>The device the peer has connected and not yet disconnected (also while its descriptors are being read), or null.</summary>
    public RemoteUsbDevice? Device { get { lock (_deviceGate) return _device; } }

    /// <summary>The filter the peer sent (usbredirfilter string form), or null.</summary>
    public string? PeerFilter { get; private set; }

    /// <summary>How many devices our filter refused on this connection.</summary>
    public int RejectedDevices { get { lock (_deviceGate) return _rejectedCount; } }

    /// <summary>Why the last refused device was refused (the filter's verdict), or null.</summary>
    public string? LastRejection { get { lock (_deviceGate) return _lastRejection; } }

    /// <summary>
    /// Waits for the next device the peer announces and our filter accepts, returned once its descriptors have been read.
    /// Returns null when the session has ended.
    /// </summary>
    public async Task<RemoteUsbDevice?> NextDeviceAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _attached.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>True when both sides use 32-bit bulk lengths (transfers over 64 KiB are allowed).</summary>
    internal bool HasLongBulkLengths { get; private set; }

    /// <summary>True when both sides offer USB 3 bulk streams (alloc/free_bulk_streams and stream ids may be used).</summary>
    internal bool HasBulkStreams { get; private set; }

    protected override ValueTask OnPacket(UsbRedirEvent packet)
    {
        switch (packet.PacketType)
        {
            case UsbRedirPacketType.Hello:
                OnPeerHello();
                break;
            case UsbRedirPacketType.InterfaceInfo:
                _interfaceInfo = packet.InterfaceInfo;
                OnLayoutChanged(interfacesChanged: true);
                break;
            case UsbRedirPacketType.EpInfo:
                _epInfo = packet.EpInfo;
                OnLayoutChanged(interfacesChanged: false);
                break;
            case UsbRedirPacketType.DeviceConnect:
                OnDeviceConnect(packet.DeviceConnect);
                break;
            case UsbRedirPacketType.DeviceDisconnect:
                OnDeviceDisconnect();
                break;
            case UsbRedirPacketType.ConfigurationStatus:
                var config = packet.ConfigurationStatus;
                Complete(packet.Id, packet.PacketType, config.Status, 0, config.Configuration, default);
                break;
            case UsbRedirPacketType.AltSettingStatus:
                var alt = packet.AltSettingStatus;
                Complete(packet.Id, packet.PacketType, alt.Status, 0, alt.Alt, default);
                break;
            case UsbRedirPacketType.BulkStreamsStatus:
                Complete(packet.Id, packet.PacketType, packet.BulkStreamsStatus.Status, 0, 0, default);
                break;
            case UsbRedirPacketType.InterruptReceivingStatus:
                OnInterruptReceivingStatus(packet.Id, packet.InterruptReceivingStatus);
                break;
            case UsbRedirPacketType.ControlPacket:
                var control = packet.ControlPacket;
                Complete(packet.Id, packet.PacketType, control.Status, control.Length, 0, packet.Payload.Span);
                break;
            case UsbRedirPacketType.BulkPacket:
                var bulk = packet.BulkPacket;
                Complete(packet.Id, packet.PacketType, bulk.Status, (int)Math.Min(bulk.Length, int.MaxValue), 0, packet.Payload.Span);
                break;
            case UsbRedirPacketType.InterruptPacket:
                OnInterruptPacket(packet.Id, packet.InterruptPacket, packet.Payload.Span);
                break;
            case UsbRedirPacketType.IsoPacket:
                var iso = packet.IsoPacket; // only IN data: the codec refuses iso_packets on OUT endpoints from a host
                if (Device is { } isoDevice)
                    isoDevice.OnIsoData(iso.Endpoint, iso.Status, packet.Payload.Span);
                break;
            case UsbRedirPacketType.IsoStreamStatus:
                var isoStatus = packet.IsoStreamStatus;
                Device?.OnIsoStreamStatus(packet.Id, isoStatus.Endpoint, isoStatus.Status);
                break;
            case UsbRedirPacketType.FilterFilter:
                PeerFilter = packet.FilterString;
                Log.Info($"peer filter: {PeerFilter}");
                break;
            default:
                // buffered bulk packets answer requests this guest never makes.
                Log.Warning($"ignored {PacketNames.Of(packet.PacketType)} from the peer: this guest never asked for it");
                break;
        }
        return ValueTask.CompletedTask;
    }

    private void OnPeerHello()
    {
        HasLongBulkLengths = Codec.IsNegotiated(UsbRedirCapabilities.BulkLength32Bit);
        HasBulkStreams = Codec.IsNegotiated(UsbRedirCapabilities.BulkStreams);
        UseIds(Codec.IsNegotiated(UsbRedirCapabilities.Ids64Bit));
        if (string.IsNullOrEmpty(_filterText))
            return; // no rules: nothing to tell (filter_filter may not be empty)
        if (Codec.PeerHas(UsbRedirCapabilities.Filter))
            WithCodec(c => c.SendFilter(_filterText));
        else
            Log.Warning("the peer does not support filters; devices are still checked when they connect");
    }

    private void OnLayoutChanged(bool interfacesChanged)
    {
        var layout = DeviceLayout.FromAnnouncement(_interfaceInfo, _epInfo);
        if (Device is not { } device)
            return;
        device.UpdateLayout(layout);
        // Like QEMU: a configuration change may bring interfaces the filter refuses.
        if (interfacesChanged && !_rejected && (Options.Filter is not null || Options.ClientFilter is not null))
        {
            var described = device.DescribedForFilter(layout);
            if (Refuses(described) is { } verdict)
            {
                Reject(described, verdict);
                device.MarkGone("refused by the filter after a configuration change");
            }
        }
    }

    private void OnDeviceConnect(DeviceConnectHeader connect)
    {
        if (_deviceAnnounced)
        {
            Log.Error("the peer sent device_connect while its device is still connected (no device_disconnect in between); ignored");
            return;
        }
        _deviceAnnounced = true;
        var layout = DeviceLayout.FromAnnouncement(_interfaceInfo, _epInfo);
        var description = new UsbRedirFilterDevice(connect.DeviceClass, connect.DeviceSubclass, connect.DeviceProtocol,
            connect.VendorId, connect.ProductId, connect.DeviceVersionBcd ?? 0,
            layout.Interfaces.Select(i => new UsbRedirFilterInterface(i.Class, i.SubClass, i.Protocol)).ToArray());
        if (Refuses(description) is { } verdict)
        {
            Reject(description, verdict);
            return;
        }
        var device = new RemoteUsbDevice(this, connect, layout, description);
        lock (_deviceGate)
            _device = device;
        Log.Info($"device connected: {description} at {connect.Speed} speed");
        _ = Task.Run(() => AttachAsync(device));
    }

    /// <summary>
    /// The verdict of the filter that refuses <paramref name="description"/>: the session's filter, then the peer's own
    /// (<see cref="UsbRedirGuestOptions.ClientFilter"/>); null when both allow it (or there are none).
    /// </summary>
    private string? Refuses(UsbRedirFilterDevice description) =>
        Options.Filter is { } rules && UsbRedirFilter.Check(rules, description, Options.FilterFlags) is { IsAllowed: false } verdict
            ? verdict.Message
            : Options.ClientFilter is { } own && UsbRedirFilter.Check(own, description, Options.FilterFlags) is { IsAllowed: false } ownVerdict
                ? $"{ownVerdict.Message} (this client's own rules)"
                : null;

    private void Reject(UsbRedirFilterDevice description, string verdict)
    {
        _rejected = true;
        lock (_deviceGate)
        {
            _rejectedCount++;
            _lastRejection = $"{description}: {verdict}";
        }
        Log.Error($"the filter refused the device {description}: {verdict}");
        if (PeerCapabilities is { } peer && peer.HasFlag(UsbRedirCapabilities.Filter))
        {
            WithCodec(c => c.SendFilterReject());
            if (Options.CloseAfterReject)
                _ = Task.Run(CloseIfPeerKeepsRejectedDeviceAsync);
        }
        else
        {
            Close(new UsbRedirException("DeviceRejectedByFilter", UsbRedirErrorCategory.InvalidOperation,
                $"The filter refused {description} ({verdict}) and the peer cannot be told (it lacks the filter capability).",
                "Change the filter, or connect a device it allows."));
        }
    }

    /// <summary>A peer that ignores filter_reject would keep the connection forever; close it after the request timeout.</summary>
    private async Task CloseIfPeerKeepsRejectedDeviceAsync()
    {
        try
        {
            await Task.Delay(Options.RequestTimeout, _sessionEnded.Token);
            Close(new UsbRedirException("RejectIgnored", UsbRedirErrorCategory.ProtocolError,
                $"The peer {Connection.Peer} did not disconnect the device the filter refused.",
                "Check the peer's usbredir version; a usb-host must release a rejected device."));
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Reads the descriptors, then hands the device out; a device whose descriptors cannot be read ends the session.</summary>
    private async Task AttachAsync(RemoteUsbDevice device)
    {
        try
        {
            await device.ReadDescriptorsAsync();
            if (device.Gone.IsCancellationRequested)
                return;
            // The announcement of an unconfigured device lists no interfaces; judge it by what its descriptors say it will be.
            var described = device.DescribedForFilter();
            if (Refuses(described) is { } verdict)
            {
                Reject(described, verdict);
                device.MarkGone("refused by the filter");
                return;
            }
            _attached.Writer.TryWrite(device);
            Log.Info($"device ready: {device.Description}");
        }
        catch (UsbRedirException e)
        {
            Log.Error(e.Message);
            Close(e);
        }
        catch (Exception e)
        {
            Log.Error($"reading the descriptors of {device.FilterDevice} failed: {e.Message}");
            Close(e);
        }
    }

    private void OnDeviceDisconnect()
    {
        RemoteUsbDevice? device;
        lock (_deviceGate)
        {
            device = _device;
            _device = null;
        }
        if (!_deviceAnnounced)
            Log.Warning("the peer sent device_disconnect with no device connected");
        _deviceAnnounced = false;
        _interfaceInfo = null;
        _epInfo = null;
        // Stop all use of the device before acknowledging: its pending transfers fail now.
        device?.MarkGone("the peer disconnected it");
        WithCodec(c =>
        {
            if (c.DisconnectAckRequired)
                c.SendDeviceDisconnectAck();
        });
        Log.Info(device is null ? "device_disconnect acknowledged" : $"device disconnected by the peer: {device.Description}");
        if (_rejected && Options.CloseAfterReject)
            Close();
        _rejected = false;
    }

    private void OnInterruptPacket(ulong id, InterruptPacketHeader h, ReadOnlySpan<byte> payload)
    {
        if ((h.Endpoint & 0x80) == 0)
        {
            Complete(id, UsbRedirPacketType.InterruptPacket, h.Status, h.Length, 0, payload); // answer to an interrupt OUT
            return;
        }
        if (Device is { } device)
            device.OnInterruptData(h.Endpoint, h.Status, payload);
        else
            Log.Warning($"interrupt data for endpoint 0x{h.Endpoint:x2} with no device connected; dropped");
    }

    private void OnInterruptReceivingStatus(ulong id, InterruptReceivingStatusHeader h)
    {
        if (TryComplete(id, UsbRedirPacketType.InterruptReceivingStatus, h.Status, 0, 0, default))
            return;
        // Not an answer: the host reports that a stream died on its own (or was stopped by a reset).
        Device?.OnInterruptStreamStopped(h.Endpoint, h.Status);
    }

    internal void SendReset() => WithCodec(c => c.SendReset());

    internal bool SendGetConfiguration(ulong id)
    {
        WithCodec(c => c.SendGetConfiguration(id));
        return true;
    }

    /// <summary>Sends a request or data packet; false (logged) when the codec refuses it.</summary>
    internal bool SendData<THeader>(ulong id, in THeader header, ReadOnlySpan<byte> payload) where THeader : IUsbRedirHeader =>
        TrySend(id, header, payload);

    protected override void OnEnded(Exception? reason)
    {
        _sessionEnded.Cancel();
        RemoteUsbDevice? device;
        lock (_deviceGate)
        {
            device = _device;
            _device = null;
        }
        device?.MarkGone(reason is null ? "the connection was closed" : $"the connection was lost: {reason.Message}");
        FailAllRequests();
        _attached.Writer.TryComplete();
        // _sessionEnded stays undisposed on purpose: devices handed out may still read its token.
    }
}
