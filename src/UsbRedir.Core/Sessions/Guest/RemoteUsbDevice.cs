using System.Buffers.Binary;
using System.Text;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Filtering;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

/// <summary>
/// A device on the far side of a usbredir connection (the usb-guest role's view of it), usable like a local one.
/// Its descriptors were read from the device with GET_DESCRIPTOR; transfers become usbredir packets and complete with
/// the peer's answer.
/// </summary>
/// <remarks>
/// Beyond the <see cref="IUsbDevice"/> contract: SET_ADDRESS is answered locally (the far host addressed the device
/// long ago); SET_CONFIGURATION and SET_INTERFACE sent as control transfers are routed to the dedicated calls; interrupt IN
/// uses usbredir's interrupt receiving (started by the first read); isochronous transfers use usbredir's iso streams
/// (<see cref="IsoInStream"/>, <see cref="IsoOutStream"/>: started by the first transfer, paced by the endpoint's bus
/// time, stopped by configuration, alternate-setting and reset); control and configuration requests give up with
/// <see cref="UsbStatus.Timeout"/> when the peer does not answer within <see cref="UsbRedirGuestOptions.RequestTimeout"/>;
/// bulk and interrupt transfers wait as long as the device takes, like on a real bus. Disposing the device closes its connection.
/// </remarks>
public sealed partial class RemoteUsbDevice : IUsbDevice
{
    private readonly UsbRedirGuestSession _session;
    private readonly CancellationTokenSource _gone = new();
    private readonly object _gate = new();
    private readonly Dictionary<byte, InterruptReceiver> _receivers = new();
    private readonly Dictionary<byte, GuestIsoStream> _isoStreams = new();
    private readonly HashSet<byte> _isoDropWarned = new();
    // Alternate settings and the active configuration's layout (from ep_info); under _gate.
    private readonly ActiveSettings _active;
    private byte _configuration;
    private byte[] _deviceDescriptor = [];
    private IReadOnlyList<ReadOnlyMemory<byte>> _configurations = [];
    private string _description;
    private string? _goneReason;

    internal RemoteUsbDevice(UsbRedirGuestSession session, DeviceConnectHeader connect, DeviceLayout layout, UsbRedirFilterDevice filterDevice)
    {
        _session = session;
        _active = new ActiveSettings(layout);
        Speed = connect.Speed;
        FilterDevice = filterDevice;
        _description = $"USB device {connect.VendorId:x4}:{connect.ProductId:x4} from {session.Connection.Peer}";
    }

    /// <summary>
    /// "Product (vid:pid, serial S) from peer", e.g. "UsbRedir Virtual Disk (1209:0001, serial 5B3A...) from 127.0.0.1:40112":
    /// what the server's log and Get-UsbRedirServer show of the device a client pushed. Without a product string "USB device",
    /// without a serial number no serial; "USB device (vid:pid) from peer" until the descriptors are read.
    /// </summary>
    public string Description { get { lock (_gate) return _description; } }

    public UsbSpeed Speed { get; }

    /// <summary>The peer's address, as the connection shows it.</summary>
    public string Peer => _session.Connection.Peer;

    /// <summary>What the peer announced, in the form filters check (class, ids, bcdDevice, interfaces).</summary>
    public UsbRedirFilterDevice FilterDevice { get; }

    public ushort VendorId => FilterDevice.VendorId;

    public ushort ProductId => FilterDevice.ProductId;

    /// <summary>The manufacturer, product and serial number strings (US English), null where the device has none or would not say.</summary>
    public string? Manufacturer { get; private set; }
    public string? Product { get; private set; }
    public string? SerialNumber { get; private set; }

    public ReadOnlyMemory<byte> DeviceDescriptor { get { lock (_gate) return _deviceDescriptor; } }

    public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors { get { lock (_gate) return _configurations; } }

    public byte ActiveConfiguration { get { lock (_gate) return _configuration; } }

    public byte GetAlternateSetting(byte interfaceNumber)
    {
        lock (_gate)
            return _active.AlternateOf(interfaceNumber);
    }

    /// <summary>The endpoint's type in the active configuration, as the peer announced it (ep_info).</summary>
    public UsbEndpointType GetEndpointType(byte endpoint)
    {
        lock (_gate)
            return _active.EndpointTypeOf(endpoint);
    }

    public CancellationToken Gone => _gone.Token;

    /// <summary>Why the device went away, once it has.</summary>
    public string? GoneReason { get { lock (_gate) return _goneReason; } }

    private TimeSpan RequestTimeout => _session.Options.RequestTimeout;

    // Not async: the usual request returns the request's own task (see DataAsync).
    public Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken)
    {
        if (setup is { RequestType: 0x00, Request: UsbStandardRequests.SetAddress })
            return Task.FromResult(Gone.IsCancellationRequested ? UsbTransferResult.Failed(UsbStatus.IoError) : UsbTransferResult.Ok(0));
        // CLEAR_FEATURE(ENDPOINT_HALT) goes on as a control transfer: usbredir has no packet of its own for it (ClearHaltAsync
        // sends exactly that control transfer).
        var state = UsbStateRequest.Of(setup);
        switch (state.Kind)
        {
            case UsbStateRequestKind.SetConfiguration:
                return NoDataAsync(SetConfigurationAsync(state.Value, cancellationToken));
            case UsbStateRequestKind.SetInterface:
                return NoDataAsync(SetAlternateSettingAsync(state.Target, state.Value, cancellationToken));
        }
        if (data.Length < setup.Length)
        {
            _session.Log.Error($"control transfer {setup}: the buffer holds {data.Length} bytes, less than wLength");
            return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Invalid));
        }
        var isIn = setup.IsDeviceToHost;
        var header = new ControlPacketHeader((byte)(isIn ? 0x80 : 0x00), setup.Request, setup.RequestType, UsbStatus.Success,
            setup.Value, setup.Index, setup.Length);
        ReadOnlyMemory<byte> payload = isIn ? default : data[..setup.Length];
        return _session.RequestAsync(this, static (id, s) => s.Session.SendData(id, s.Header, s.Payload.Span),
            (Session: _session, Header: header, Payload: payload), AsTransferResult,
            RequestDescription.Data(UsbRedirPacketType.ControlPacket, isIn, isIn ? data[..setup.Length] : default, setup.Length, RequestTimeout),
            cancellationToken);
    }

    private static async Task<UsbTransferResult> NoDataAsync(Task<UsbStatus> request) => new(await request, 0);

    /// <summary>A data packet's answer as its caller sees it (a static delegate: nothing allocated per transfer).</summary>
    private static readonly Func<UsbRedirGuestSession.RequestReply, UsbTransferResult> AsTransferResult =
        static reply => new(reply.Status, reply.Length);

    public Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (Gone.IsCancellationRequested)
            return Task.FromResult(UsbTransferResult.Failed(UsbStatus.IoError));
        var isIn = (endpoint & 0x80) != 0;
        switch (GetEndpointType(endpoint))
        {
            case UsbEndpointType.Bulk:
                return BulkAsync(endpoint, 0, buffer, cancellationToken);
            case UsbEndpointType.Interrupt when isIn:
                return ReadInterruptAsync(endpoint, buffer, cancellationToken);
            case UsbEndpointType.Interrupt:
                if (buffer.Length > ushort.MaxValue)
                    return Refuse($"a {buffer.Length}-byte interrupt transfer exceeds 65535 bytes");
                var interrupt = new InterruptPacketHeader(endpoint, UsbStatus.Success, (ushort)buffer.Length);
                return DataAsync(interrupt, UsbRedirPacketType.InterruptPacket, buffer, isIn: false, cancellationToken);
            case UsbEndpointType.Isochronous:
                return Refuse($"endpoint 0x{endpoint:x2} is isochronous: it takes isochronous transfers (IsoTransferAsync), not bulk or interrupt ones");
            default:
                return Refuse($"endpoint 0x{endpoint:x2} is not a bulk or interrupt endpoint of the active configuration");
        }
    }

    // Its own method: the lambda's capture of endpoint, were it in TransferAsync, would cost a closure on every transfer.
    private Task<UsbTransferResult> ReadInterruptAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken) =>
        Receiver(endpoint).ReadAsync(buffer, () => StartInterruptReceivingAsync(endpoint), cancellationToken);

    private Task<UsbTransferResult> Refuse(string why)
    {
        _session.Log.Error($"{Description}: {why}");
        return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Invalid));
    }

    /// <summary>
    /// Not async: a static lambda over a value-tuple state sends it (no closure or delegate per transfer) and the caller
    /// awaits the request itself, which completes with the <see cref="UsbTransferResult"/> (no state machine per transfer).
    /// </summary>
    private Task<UsbTransferResult> DataAsync<THeader>(THeader header, UsbRedirPacketType type, Memory<byte> buffer, bool isIn,
        CancellationToken cancellationToken) where THeader : IUsbRedirHeader
    {
        ReadOnlyMemory<byte> payload = isIn ? default : buffer;
        return _session.RequestAsync(this, static (id, s) => s.Session.SendData(id, s.Header, s.Payload.Span),
            (Session: _session, Header: header, Payload: payload), AsTransferResult,
            RequestDescription.Data(type, isIn, isIn ? buffer : default, buffer.Length, timeout: null), cancellationToken);
    }

    public Task<UsbIsoTransferResult> IsoTransferAsync(byte endpoint, Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets,
        CancellationToken cancellationToken)
    {
        if (Gone.IsCancellationRequested)
            return Task.FromResult(UsbIsoTransferResult.Failed(UsbStatus.IoError, packets.Count));
        var layout = Snapshot();
        var index = DeviceLayout.EndpointIndex(endpoint);
        if (layout.EndpointType[index] != UsbEndpointType.Isochronous)
            return RefuseIso($"endpoint 0x{endpoint:x2} is not an isochronous endpoint of the active configuration", packets.Count);
        var plan = IsoStreamPlan.For(Speed, endpoint, layout.EndpointInterval[index], layout.EndpointMaxPacketSize[index]);
        if (plan.Refusal(buffer.Length, packets) is { } why)
            return RefuseIso($"isochronous transfer on endpoint 0x{endpoint:x2} refused: {why}", packets.Count);
        return IsoStreamOf(endpoint) switch
        {
            IsoInStream input => input.TransferAsync(buffer, packets, plan, cancellationToken),
            IsoOutStream output => output.TransferAsync(buffer, packets, plan, cancellationToken),
            _ => throw new InvalidOperationException("an iso stream is either IN or OUT"),
        };
    }

    private Task<UsbIsoTransferResult> RefuseIso(string why, int packetCount)
    {
        _session.Log.Error($"{Description}: {why}");
        return Task.FromResult(UsbIsoTransferResult.Failed(UsbStatus.Invalid, packetCount));
    }

    private GuestIsoStream IsoStreamOf(byte endpoint)
    {
        lock (_gate)
        {
            if (!_isoStreams.TryGetValue(endpoint, out var stream))
            {
                var time = _session.Options.TimeProvider;
                _isoStreams[endpoint] = stream = (endpoint & 0x80) != 0
                    ? new IsoInStream(this, _session, endpoint, time)
                    : new IsoOutStream(this, _session, endpoint, time);
                _isoDropWarned.Remove(endpoint);
            }
            return stream;
        }
    }

    private async Task<UsbStatus> StartInterruptReceivingAsync(byte endpoint)
    {
        var header = new StartInterruptReceivingHeader(endpoint);
        var reply = await _session.RequestAsync(this, id => _session.SendData(id, header, default),
            RequestDescription.Status(UsbRedirPacketType.InterruptReceivingStatus, RequestTimeout), Gone);
        return reply.Status;
    }

    private InterruptReceiver Receiver(byte endpoint)
    {
        lock (_gate)
        {
            if (!_receivers.TryGetValue(endpoint, out var receiver))
                _receivers[endpoint] = receiver = new InterruptReceiver(endpoint, _session.Options.InterruptQueueLimit, _session.Log);
            return receiver;
        }
    }

    public async Task<UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken)
    {
        StopReceivers(_ => true, UsbStatus.Cancelled); // the host stops every stream when the configuration changes
        var header = new SetConfigurationHeader(configurationValue);
        var reply = await _session.RequestAsync(this, id => _session.SendData(id, header, default),
            RequestDescription.Status(UsbRedirPacketType.ConfigurationStatus, RequestTimeout), cancellationToken);
        if (reply.Answered)
        {
            lock (_gate)
            {
                _configuration = reply.Value; // the active value, whether or not the change worked
                _active.ResetAlternates();
            }
        }
        return reply.Status;
    }

    public async Task<UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken)
    {
        var layout = Snapshot();
        StopReceivers(ep => layout.EndpointInterface[DeviceLayout.EndpointIndex(ep)] == interfaceNumber, UsbStatus.Cancelled);
        var header = new SetAltSettingHeader(interfaceNumber, alternateSetting);
        var reply = await _session.RequestAsync(this, id => _session.SendData(id, header, default),
            RequestDescription.Status(UsbRedirPacketType.AltSettingStatus, RequestTimeout), cancellationToken);
        if (reply.Answered && reply.Value != 0xFF)
            lock (_gate)
                _active.SetAlternate(interfaceNumber, reply.Value);
        return reply.Status;
    }

    /// <summary>CLEAR_FEATURE(ENDPOINT_HALT): the far host clears the halt locally, as usbredirhost does for this request.</summary>
    public async Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken)
    {
        var setup = new UsbSetupPacket(0x02, UsbStandardRequests.ClearFeature, 0, endpoint, 0);
        return (await ControlTransferAsync(setup, Memory<byte>.Empty, cancellationToken)).Status;
    }

    /// <summary>
    /// Resets the device: every pending transfer completes with Cancelled at once, the peer resets the device (usbredir's
    /// reset has no answer), and the active configuration is read back (a reset may leave the device unconfigured).
    /// </summary>
    public async Task<UsbStatus> ResetAsync(CancellationToken cancellationToken)
    {
        if (Gone.IsCancellationRequested)
            return UsbStatus.IoError;
        StopReceivers(_ => true, UsbStatus.Cancelled);
        _session.AbandonAll(this, UsbStatus.Cancelled);
        _session.SendReset();
        lock (_gate)
            _active.ResetAlternates();
        var reply = await _session.RequestAsync(this, id => _session.SendGetConfiguration(id),
            RequestDescription.Status(UsbRedirPacketType.ConfigurationStatus, RequestTimeout), cancellationToken);
        if (reply.Answered)
            lock (_gate)
                _configuration = reply.Value;
        return Gone.IsCancellationRequested ? UsbStatus.IoError : UsbStatus.Success;
    }

    /// <summary>Reads what <see cref="IUsbDevice"/> promises (device and every configuration descriptor, configuration, alt settings) and the strings.</summary>
    internal async Task ReadDescriptorsAsync()
    {
        var device = await GetDescriptorAsync(UsbDescriptorTypes.Device, 0, 18);
        if (device.Length != 18 || device[0] != 18 || device[1] != UsbDescriptorTypes.Device)
            throw Unreadable($"its device descriptor came back as {device.Length} bytes of type {(device.Length > 1 ? device[1] : 0)}");
        var configurations = new List<ReadOnlyMemory<byte>>();
        for (byte index = 0; index < device[17]; index++)
        {
            var head = await GetDescriptorAsync(UsbDescriptorTypes.Configuration, index, 9);
            if (head.Length < 4 || head[1] != UsbDescriptorTypes.Configuration)
                throw Unreadable($"configuration descriptor {index} came back as {head.Length} bytes");
            var total = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(2));
            var full = total <= head.Length ? head : await GetDescriptorAsync(UsbDescriptorTypes.Configuration, index, total);
            if (full.Length != total)
                throw Unreadable($"configuration descriptor {index} has wTotalLength {total} but {full.Length} bytes came back");
            configurations.Add(full);
        }
        lock (_gate)
        {
            _deviceDescriptor = device;
            _configurations = configurations.AsReadOnly();
        }

        var config = await _session.RequestAsync(this, id => _session.SendGetConfiguration(id),
            RequestDescription.Status(UsbRedirPacketType.ConfigurationStatus, RequestTimeout), Gone);
        if (config.Status != UsbStatus.Success)
            throw Unreadable($"get_configuration was answered {config.Status}");
        lock (_gate)
            _configuration = config.Value;
        foreach (var iface in Snapshot().Interfaces)
        {
            var header = new GetAltSettingHeader(iface.Number);
            var alt = await _session.RequestAsync(this, id => _session.SendData(id, header, default),
                RequestDescription.Status(UsbRedirPacketType.AltSettingStatus, RequestTimeout), Gone);
            if (alt.Status == UsbStatus.Success)
                lock (_gate)
                    _active.SetAlternate(iface.Number, alt.Value);
        }

        Manufacturer = await TryGetStringAsync(device[14]);
        Product = await TryGetStringAsync(device[15]);
        SerialNumber = await TryGetStringAsync(device[16]);
        lock (_gate)
            _description = $"{Product ?? "USB device"} ({VendorId:x4}:{ProductId:x4}{(string.IsNullOrEmpty(SerialNumber) ? "" : $", serial {SerialNumber}")}) from {Peer}";
    }

    private async Task<byte[]> GetDescriptorAsync(byte type, byte index, ushort length, ushort languageId = 0)
    {
        var buffer = new byte[length];
        var setup = new UsbSetupPacket(0x80, UsbStandardRequests.GetDescriptor, (ushort)(type << 8 | index), languageId, length);
        var result = await ControlTransferAsync(setup, buffer, Gone);
        if (result.Status != UsbStatus.Success)
            throw Unreadable($"GET_DESCRIPTOR (type {type}, index {index}) was answered {result.Status}");
        return buffer[..result.ActualLength];
    }

    /// <summary>A string descriptor in US English, or null (strings are optional, and some devices stall them).</summary>
    private async Task<string?> TryGetStringAsync(byte index)
    {
        if (index == 0)
            return null;
        var buffer = new byte[255];
        var setup = new UsbSetupPacket(0x80, UsbStandardRequests.GetDescriptor, (ushort)(UsbDescriptorTypes.String << 8 | index), 0x0409, 255);
        var result = await ControlTransferAsync(setup, buffer, Gone);
        if (result.Status != UsbStatus.Success || result.ActualLength < 2 || buffer[1] != UsbDescriptorTypes.String)
            return null;
        var length = Math.Min(Math.Min(buffer[0], result.ActualLength), 255) & ~1;
        return length <= 2 ? "" : Encoding.Unicode.GetString(buffer, 2, length - 2);
    }

    /// <summary>
    /// The device as a filter judges it, from its descriptors: the active configuration's interfaces, or for an unconfigured
    /// device those of its first configuration (the one every host selects).
    /// </summary>
    internal UsbRedirFilterDevice DescribedForFilter()
    {
        var configurations = ConfigurationDescriptors;
        var active = ActiveConfiguration;
        var chosen = configurations.FirstOrDefault(c => c.Length > 5 && active != 0 && c.Span[5] == active);
        if (chosen.IsEmpty && configurations.Count > 0)
            chosen = configurations[0];
        return UsbRedirFilterDevice.FromDescriptors(DeviceDescriptor.Span, chosen.Span);
    }

    /// <summary>The device with the interfaces of a newly announced layout.</summary>
    internal UsbRedirFilterDevice DescribedForFilter(DeviceLayout layout) => new(FilterDevice.Class, FilterDevice.SubClass, FilterDevice.Protocol,
        FilterDevice.VendorId, FilterDevice.ProductId, FilterDevice.Version,
        layout.Interfaces.Select(i => new UsbRedirFilterInterface(i.Class, i.SubClass, i.Protocol)).ToArray());

    private UsbRedirException Unreadable(string why) => new("RemoteDescriptorsUnreadable", UsbRedirErrorCategory.DeviceError,
        $"Cannot use {FilterDevice} from {Peer}: {why}.",
        "Re-plug the device on the far side and connect again; if it keeps failing, the device or its host is faulty.", Peer);

    private DeviceLayout Snapshot()
    {
        lock (_gate)
            return _active.Layout;
    }

    /// <summary>New interface_info/ep_info (read loop): the active configuration or an alternate setting changed.</summary>
    internal void UpdateLayout(DeviceLayout layout)
    {
        lock (_gate)
            _active.Layout = layout;
    }

    internal void OnInterruptData(byte endpoint, UsbStatus status, ReadOnlySpan<byte> data)
    {
        InterruptReceiver? receiver;
        lock (_gate)
            _receivers.TryGetValue(endpoint, out receiver);
        if (receiver is null)
            _session.Log.Warning($"interrupt data for endpoint 0x{endpoint:x2}, which is not receiving; dropped");
        else
            receiver.OnPacket(status, data);
    }

    internal void OnInterruptStreamStopped(byte endpoint, UsbStatus status)
    {
        InterruptReceiver? receiver;
        lock (_gate)
            _receivers.TryGetValue(endpoint, out receiver);
        if (receiver is null)
            return;
        _session.Log.Warning($"interrupt receiving on endpoint 0x{endpoint:x2} stopped: {status}");
        receiver.Stop(status == UsbStatus.Success ? UsbStatus.IoError : status);
    }

    internal void OnIsoData(byte endpoint, UsbStatus status, ReadOnlySpan<byte> data)
    {
        GuestIsoStream? stream;
        bool warn;
        lock (_gate)
        {
            _isoStreams.TryGetValue(endpoint, out stream);
            warn = stream is not IsoInStream && _isoDropWarned.Add(endpoint); // once per endpoint: a flood must not flood the log
        }
        if (stream is IsoInStream input)
            input.OnPacket(status, data);
        else if (warn)
            _session.Log.Warning($"iso data for endpoint 0x{endpoint:x2}, which is not an IN stream we started; dropping it and any more");
    }

    internal void OnIsoStreamStatus(ulong id, byte endpoint, UsbStatus status)
    {
        GuestIsoStream? stream;
        bool warn;
        lock (_gate)
        {
            _isoStreams.TryGetValue(endpoint, out stream);
            warn = stream is null && _isoDropWarned.Add(endpoint);
        }
        if (stream is not null)
            stream.OnStatus(id, status);
        else if (warn)
            _session.Log.Warning($"iso_stream_status {status} for endpoint 0x{endpoint:x2}, which never streamed; ignoring it and any more");
    }

    /// <summary>
    /// Stops interrupt receiving and iso streams: their pending transfers complete with <paramref name="status"/>. Iso
    /// streams that run are stopped at the host too, unless the device is gone (IoError), where there is no one to tell.
    /// </summary>
    private void StopReceivers(Func<byte, bool> which, UsbStatus status)
    {
        InterruptReceiver[] receivers;
        GuestIsoStream[] streams;
        lock (_gate)
        {
            receivers = _receivers.Values.Where(r => which(r.Endpoint)).ToArray();
            streams = _isoStreams.Values.Where(s => which(s.Endpoint)).ToArray();
        }
        foreach (var r in receivers)
            r.Stop(status);
        foreach (var s in streams)
            s.Stop(status, tellPeer: status != UsbStatus.IoError);
    }

    /// <summary>The device is gone for good: every pending and later transfer fails with IoError.</summary>
    internal void MarkGone(string reason)
    {
        lock (_gate)
        {
            if (_goneReason is not null)
                return;
            _goneReason = reason;
        }
        _session.Log.Info($"{Description} is gone: {reason}");
        _gone.Cancel();
        _session.AbandonAll(this, UsbStatus.IoError);
        StopReceivers(_ => true, UsbStatus.IoError);
    }

    /// <summary>Stops using the device and closes its connection (the peer sees the connection end).</summary>
    public ValueTask DisposeAsync()
    {
        MarkGone("disposed locally");
        _session.Close();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => Description;
}
