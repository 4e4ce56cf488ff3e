using System.Text;

namespace UsbRedir.Protocol;

/// <summary>
/// One thing the codec found in the received bytes: a valid packet (type, id, typed header, payload) or a protocol error.
/// <para>Lifetime: <see cref="Payload"/> (and the header bytes behind the typed accessors) stay valid until the next
/// Receive call on the codec — and for <see cref="UsbRedirCodec.ReceiveInPlace"/> only while the caller's buffer is
/// unchanged. Copy the payload if you keep it longer.</para>
/// </summary>
public readonly struct UsbRedirEvent
{
    // Kept small (40 bytes): a batch holds one event per packet, and for small packets the events outweigh the bytes.
    private readonly ReadOnlyMemory<byte> _body; // type-specific header, then payload
    private readonly object? _detail;
    private readonly ushort _typeHeaderLength;
    private readonly UsbRedirEventKind _kind;

    internal UsbRedirEvent(UsbRedirPacketType type, ulong id, ReadOnlyMemory<byte> body, int typeHeaderLength, HelloInfo? hello)
    {
        _kind = UsbRedirEventKind.Packet;
        PacketType = type;
        Id = id;
        _body = body;
        _typeHeaderLength = (ushort)typeHeaderLength;
        _detail = hello;
    }

    internal UsbRedirEvent(UsbRedirProtocolError error)
    {
        _kind = UsbRedirEventKind.Error;
        PacketType = error.PacketType;
        _detail = error;
    }

    /// <summary>Packet or error.</summary>
    public UsbRedirEventKind Kind => _kind;

    /// <summary>The packet type (for errors: the type number as received).</summary>
    public UsbRedirPacketType PacketType { get; }

    /// <summary>The packet id (request/transfer id; already widened from 32 bits when 64-bit ids are not negotiated).</summary>
    public ulong Id { get; }

    /// <summary>Bytes after the type-specific header (data packets, hello caps, filter string); empty otherwise.</summary>
    public ReadOnlyMemory<byte> Payload => _body[_typeHeaderLength..];

    /// <summary>The raw type-specific header as received (its length reveals the negotiated variant).</summary>
    public ReadOnlyMemory<byte> TypeHeaderBytes => _body[.._typeHeaderLength];

    /// <summary>The error, when <see cref="Kind"/> is <see cref="UsbRedirEventKind.Error"/>; else null.</summary>
    public UsbRedirProtocolError? Error => _detail as UsbRedirProtocolError;

    /// <summary>The peer's hello (type hello).</summary>
    public HelloInfo Hello => _detail as HelloInfo ?? throw WrongType(UsbRedirPacketType.Hello);

    /// <summary>device_connect header.</summary>
    public DeviceConnectHeader DeviceConnect => DeviceConnectHeader.Read(Header(UsbRedirPacketType.DeviceConnect));
    /// <summary>interface_info header.</summary>
    public InterfaceInfoHeader InterfaceInfo => InterfaceInfoHeader.Read(Header(UsbRedirPacketType.InterfaceInfo));
    /// <summary>ep_info header (optional arrays null when not negotiated).</summary>
    public EpInfoHeader EpInfo => EpInfoHeader.Read(Header(UsbRedirPacketType.EpInfo));
    /// <summary>set_configuration header.</summary>
    public SetConfigurationHeader SetConfiguration => SetConfigurationHeader.Read(Header(UsbRedirPacketType.SetConfiguration));
    /// <summary>configuration_status header.</summary>
    public ConfigurationStatusHeader ConfigurationStatus => ConfigurationStatusHeader.Read(Header(UsbRedirPacketType.ConfigurationStatus));
    /// <summary>set_alt_setting header.</summary>
    public SetAltSettingHeader SetAltSetting => SetAltSettingHeader.Read(Header(UsbRedirPacketType.SetAltSetting));
    /// <summary>get_alt_setting header.</summary>
    public GetAltSettingHeader GetAltSetting => GetAltSettingHeader.Read(Header(UsbRedirPacketType.GetAltSetting));
    /// <summary>alt_setting_status header.</summary>
    public AltSettingStatusHeader AltSettingStatus => AltSettingStatusHeader.Read(Header(UsbRedirPacketType.AltSettingStatus));
    /// <summary>start_iso_stream header.</summary>
    public StartIsoStreamHeader StartIsoStream => StartIsoStreamHeader.Read(Header(UsbRedirPacketType.StartIsoStream));
    /// <summary>stop_iso_stream header.</summary>
    public StopIsoStreamHeader StopIsoStream => StopIsoStreamHeader.Read(Header(UsbRedirPacketType.StopIsoStream));
    /// <summary>iso_stream_status header.</summary>
    public IsoStreamStatusHeader IsoStreamStatus => IsoStreamStatusHeader.Read(Header(UsbRedirPacketType.IsoStreamStatus));
    /// <summary>start_interrupt_receiving header.</summary>
    public StartInterruptReceivingHeader StartInterruptReceiving => StartInterruptReceivingHeader.Read(Header(UsbRedirPacketType.StartInterruptReceiving));
    /// <summary>stop_interrupt_receiving header.</summary>
    public StopInterruptReceivingHeader StopInterruptReceiving => StopInterruptReceivingHeader.Read(Header(UsbRedirPacketType.StopInterruptReceiving));
    /// <summary>interrupt_receiving_status header.</summary>
    public InterruptReceivingStatusHeader InterruptReceivingStatus => InterruptReceivingStatusHeader.Read(Header(UsbRedirPacketType.InterruptReceivingStatus));
    /// <summary>alloc_bulk_streams header.</summary>
    public AllocBulkStreamsHeader AllocBulkStreams => AllocBulkStreamsHeader.Read(Header(UsbRedirPacketType.AllocBulkStreams));
    /// <summary>free_bulk_streams header.</summary>
    public FreeBulkStreamsHeader FreeBulkStreams => FreeBulkStreamsHeader.Read(Header(UsbRedirPacketType.FreeBulkStreams));
    /// <summary>bulk_streams_status header.</summary>
    public BulkStreamsStatusHeader BulkStreamsStatus => BulkStreamsStatusHeader.Read(Header(UsbRedirPacketType.BulkStreamsStatus));
    /// <summary>start_bulk_receiving header.</summary>
    public StartBulkReceivingHeader StartBulkReceiving => StartBulkReceivingHeader.Read(Header(UsbRedirPacketType.StartBulkReceiving));
    /// <summary>stop_bulk_receiving header.</summary>
    public StopBulkReceivingHeader StopBulkReceiving => StopBulkReceivingHeader.Read(Header(UsbRedirPacketType.StopBulkReceiving));
    /// <summary>bulk_receiving_status header.</summary>
    public BulkReceivingStatusHeader BulkReceivingStatus => BulkReceivingStatusHeader.Read(Header(UsbRedirPacketType.BulkReceivingStatus));
    /// <summary>control_packet header.</summary>
    public ControlPacketHeader ControlPacket => ControlPacketHeader.Read(Header(UsbRedirPacketType.ControlPacket));
    /// <summary>bulk_packet header (combined 32-bit length).</summary>
    public BulkPacketHeader BulkPacket => BulkPacketHeader.Read(Header(UsbRedirPacketType.BulkPacket));
    /// <summary>iso_packet header.</summary>
    public IsoPacketHeader IsoPacket => IsoPacketHeader.Read(Header(UsbRedirPacketType.IsoPacket));
    /// <summary>interrupt_packet header.</summary>
    public InterruptPacketHeader InterruptPacket => InterruptPacketHeader.Read(Header(UsbRedirPacketType.InterruptPacket));
    /// <summary>buffered_bulk_packet header.</summary>
    public BufferedBulkPacketHeader BufferedBulkPacket => BufferedBulkPacketHeader.Read(Header(UsbRedirPacketType.BufferedBulkPacket));

    /// <summary>filter_filter: the filter string without its terminating NUL (UTF-8 decoded; rules are ASCII).</summary>
    public string FilterString
    {
        get
        {
            if (Kind != UsbRedirEventKind.Packet || PacketType != UsbRedirPacketType.FilterFilter) throw WrongType(UsbRedirPacketType.FilterFilter);
            var s = Payload.Span;
            var nul = s.IndexOf((byte)0);
            return Encoding.UTF8.GetString(nul >= 0 ? s[..nul] : s);
        }
    }

    private ReadOnlySpan<byte> Header(UsbRedirPacketType expected)
    {
        if (Kind != UsbRedirEventKind.Packet || PacketType != expected) throw WrongType(expected);
        return _body.Span[.._typeHeaderLength];
    }

    private InvalidOperationException WrongType(UsbRedirPacketType expected) => new(
        $"This event is {(Kind == UsbRedirEventKind.Error ? "an error" : PacketNames.Of(PacketType))}, not {PacketNames.Of(expected)}; check PacketType first.");

    /// <inheritdoc />
    public override string ToString() => Kind == UsbRedirEventKind.Error
        ? $"error {Error}"
        : $"{PacketNames.Of(PacketType)} id={Id} payload={Payload.Length}";
}
