using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace UsbRedir.Protocol;

// Sending: packets are validated with the same rules the receiver applies, then encoded into the output buffer.
// Before the peer's hello they are queued (its capabilities decide header width and sizes) and flushed when it arrives.
public sealed partial class UsbRedirCodec
{
    /// <summary>Encoded bytes waiting for the transport, oldest first. Write some, then call <see cref="AdvanceOutput"/>.</summary>
    public ReadOnlyMemory<byte> PendingOutput => _output.Pending;

    /// <summary>Number of encoded bytes waiting (for back-pressure decisions).</summary>
    public int PendingOutputLength => _output.Length;

    /// <summary>Packets accepted before the peer's hello and not yet encoded.</summary>
    public int QueuedPacketCount => _deferred.Count;

    /// <summary>Marks <paramref name="count"/> bytes at the front of <see cref="PendingOutput"/> as written.</summary>
    public void AdvanceOutput(int count) => _output.Advance(count);

    /// <summary>
    /// Sends a packet with a type-specific header and optional payload (data packets; the payload is copied).
    /// The id is truncated to 32 bits unless 64-bit ids are negotiated, as in libusbredirparser.
    /// </summary>
    /// <exception cref="UsbRedirProtocolException">The packet breaks a rule (direction, capability, length, payload); nothing is written.</exception>
    public void Send<THeader>(ulong id, in THeader header, ReadOnlySpan<byte> payload = default) where THeader : IUsbRedirHeader
    {
        if (header is null) throw new ArgumentNullException(nameof(header)); // no boxing for struct headers
        Submit(header.PacketType, id, header, payload);
    }

    /// <summary>
    /// <see cref="Send{THeader}(ulong, in THeader, ReadOnlySpan{byte})"/>, encoding the packet straight into
    /// <paramref name="destination"/> (a transport's send queue) instead of <see cref="PendingOutput"/>: a large payload is
    /// then copied once, not once here and once more to the transport. Only when nothing waits in PendingOutput and the
    /// peer's hello has come, so packets never overtake each other; otherwise it is queued as Send does, and the caller
    /// moves PendingOutput on as usual.
    /// </summary>
    /// <returns>True when the packet went to <paramref name="destination"/>, false when it went to PendingOutput or the queue of packets awaiting the hello.</returns>
    /// <exception cref="UsbRedirProtocolException">The packet breaks a rule; nothing is written.</exception>
    public bool SendTo<THeader>(IBufferWriter<byte> destination, ulong id, in THeader header, ReadOnlySpan<byte> payload = default) where THeader : IUsbRedirHeader
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (header is null) throw new ArgumentNullException(nameof(header));
        return Submit(header.PacketType, id, header, payload, destination);
    }

    /// <summary>Sends a header-only packet that carries a request id (a convenience for <see cref="Send{THeader}"/>).</summary>
    public void Send<THeader>(in THeader header) where THeader : IUsbRedirHeader => Send(0, header);

    /// <summary>usb-host: device_disconnect (type 2).</summary>
    public void SendDeviceDisconnect() => Submit(UsbRedirPacketType.DeviceDisconnect, 0, default(NoHeader), default);

    /// <summary>usb-guest: reset (type 3; never answered).</summary>
    public void SendReset() => Submit(UsbRedirPacketType.Reset, 0, default(NoHeader), default);

    /// <summary>usb-guest: get_configuration (type 7) with request <paramref name="id"/>.</summary>
    public void SendGetConfiguration(ulong id) => Submit(UsbRedirPacketType.GetConfiguration, id, default(NoHeader), default);

    /// <summary>usb-guest: cancel_data_packet (type 21) for the data packet with <paramref name="id"/>.</summary>
    public void SendCancelDataPacket(ulong id) => Submit(UsbRedirPacketType.CancelDataPacket, id, default(NoHeader), default);

    /// <summary>usb-guest: filter_reject (type 22). Requires the peer to have <see cref="UsbRedirCapabilities.Filter"/>.</summary>
    public void SendFilterReject() => Submit(UsbRedirPacketType.FilterReject, 0, default(NoHeader), default);

    /// <summary>usb-guest: device_disconnect_ack (type 24). Requires the peer to have <see cref="UsbRedirCapabilities.DeviceDisconnectAck"/>.</summary>
    public void SendDeviceDisconnectAck() => Submit(UsbRedirPacketType.DeviceDisconnectAck, 0, default(NoHeader), default);

    /// <summary>
    /// filter_filter (type 23, either side): sends <paramref name="filter"/> (usbredirfilter string form, e.g.
    /// "0x03,-1,-1,-1,0|-1,-1,-1,-1,1") NUL-terminated. Requires the peer to have <see cref="UsbRedirCapabilities.Filter"/>.
    /// </summary>
    public void SendFilter(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Contains('\0'))
            throw new UsbRedirProtocolException(UsbRedirPacketType.FilterFilter, UsbRedirViolation.FilterNotTerminated, "the filter string contains a NUL character");
        var bytes = new byte[Encoding.UTF8.GetByteCount(filter) + 1];
        Encoding.UTF8.GetBytes(filter, bytes);
        Submit(UsbRedirPacketType.FilterFilter, 0, default(NoHeader), bytes);
    }

    /// <returns>True when the packet went to <paramref name="destination"/>, false when to PendingOutput or the deferred queue.</returns>
    private bool Submit<THeader>(UsbRedirPacketType type, ulong id, in THeader header, ReadOnlySpan<byte> payload,
        IBufferWriter<byte>? destination = null) where THeader : IUsbRedirHeader
    {
        if (type == UsbRedirPacketType.Hello)
            throw new UsbRedirProtocolException(type, UsbRedirViolation.DuplicateHello, "the codec sends hello itself when it is created");
        if (HasPeerHello)
        {
            // Past PendingOutput only when nothing waits there, so no packet overtakes an earlier one.
            var direct = destination is not null && _output.Length == 0;
            Encode(type, id, header, payload, Capabilities & _peerCaps!.Value, _peerCaps!.Value, commit: true, direct ? destination : null);
            return direct;
        }
        // The peer's caps are unknown: check now what we can (assuming it shares ours), encode for real on its hello.
        Encode(type, id, header, payload, Capabilities, UsbRedirCapabilities.All, commit: false);
        _deferred.Enqueue(new DeferredPacket(type, id, header, payload.ToArray()));
        return false;
    }

    private void FlushDeferred()
    {
        while (_deferred.TryDequeue(out var p))
        {
            try
            {
                Encode(p.Type, p.Id, p.Header, p.Payload, _negotiated, _peerCaps!.Value, commit: true);
            }
            catch (UsbRedirProtocolException e)
            {
                _events.Add(new UsbRedirEvent(new UsbRedirProtocolError(p.Type, UsbRedirViolation.QueuedPacketDropped,
                    $"{PacketNames.Of(p.Type)} queued before the peer's hello was dropped: {e.Violation}: {e.Message}", 0)));
            }
        }
    }

    private void Encode<THeader>(UsbRedirPacketType type, ulong id, in THeader header, ReadOnlySpan<byte> payload,
        UsbRedirCapabilities negotiated, UsbRedirCapabilities peerCaps, bool commit, IBufferWriter<byte>? destination = null) where THeader : IUsbRedirHeader
    {
        destination ??= _output;
        var toHost = Role == UsbRedirRole.UsbGuest;
        var name = PacketNames.Of(type);
        var typeHeaderLength = PacketRules.TypeHeaderLength((uint)type, toHost, negotiated);
        if (typeHeaderLength < 0)
            throw PacketRules.IsKnownType((uint)type)
                ? new UsbRedirProtocolException(type, UsbRedirViolation.WrongDirection, $"a {(toHost ? "usb-guest" : "usb-host")} may not send {name}")
                : new UsbRedirProtocolException(type, UsbRedirViolation.UnknownPacketType, $"{(uint)type} is not a usb-redir packet type");
        if (!payload.IsEmpty && !PacketRules.MayCarryPayload((uint)type))
            throw new UsbRedirProtocolException(type, UsbRedirViolation.UnexpectedExtraData, $"{name} carries no payload");
        if (header is BulkPacketHeader bulk && bulk.Length > ushort.MaxValue && (negotiated & UsbRedirCapabilities.BulkLength32Bit) == 0)
            throw new UsbRedirProtocolException(type, UsbRedirViolation.BulkLengthNeedsCapability,
                $"bulk length {bulk.Length} needs 32-bit bulk lengths, which the peer did not advertise (lengths are limited to 65535)");
        var length = (long)typeHeaderLength + payload.Length;
        if (length > UsbRedirLimits.MaxPacketSize)
            throw new UsbRedirProtocolException(type, UsbRedirViolation.PacketTooLarge, $"{name} length {length} exceeds {UsbRedirLimits.MaxPacketSize}");

        var headerSize = (negotiated & UsbRedirCapabilities.Ids64Bit) != 0 ? UsbRedirLimits.HeaderSize64 : UsbRedirLimits.HeaderSize32;
        var total = headerSize + (int)length;
        var dest = destination.GetSpan(total)[..total];
        var typeHeader = dest.Slice(headerSize, typeHeaderLength);
        header.WriteTo(typeHeader);
        if (!PacketRules.TryVerifyHeader((uint)type, typeHeader, payload.Length, toHost, negotiated, peerCaps, out var violation, out var message)
            || !PacketRules.TryVerifyPayload((uint)type, payload, out violation, out message))
            throw new UsbRedirProtocolException(type, violation, message!);
        if (!commit) return;

        BinaryPrimitives.WriteUInt32LittleEndian(dest, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[4..], (uint)length);
        if (headerSize == UsbRedirLimits.HeaderSize64) BinaryPrimitives.WriteUInt64LittleEndian(dest[8..], id);
        else BinaryPrimitives.WriteUInt32LittleEndian(dest[8..], (uint)id); // truncated like libusbredirparser
        payload.CopyTo(dest[(headerSize + typeHeaderLength)..]);
        destination.Advance(total);
    }

    /// <summary>A packet accepted before the peer's hello; encoded once the negotiated sizes are known.</summary>
    private sealed record DeferredPacket(UsbRedirPacketType Type, ulong Id, IUsbRedirHeader Header, byte[] Payload);

    /// <summary>The empty type header of packets that have none.</summary>
    private readonly struct NoHeader : IUsbRedirHeader
    {
        public UsbRedirPacketType PacketType => default;
        public void WriteTo(Span<byte> destination) { }
    }
}
