using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace UsbRedir.Protocol;

// Receiving: a resumable state machine over the byte stream. Whole packets that lie inside one input are handed out as
// slices; a packet split across inputs is gathered in a pooled buffer that grows only as its bytes arrive.
public sealed partial class UsbRedirCodec
{
    // A split packet's first buffer: one ArrayPool bucket that holds a whole 64 KiB bulk transfer, so the common case
    // is gathered without regrowing; beyond it the buffer grows with the bytes that arrive (at most twice them).
    private const int MinPendingBuffer = 128 * 1024;

    private readonly byte[] _headerBuf = new byte[UsbRedirLimits.HeaderSize64];
    private int _headerRead;
    private long _skip;

    private bool _inBody;
    private uint _type;
    private uint _length;
    private ulong _id;
    private int _typeHeaderLength;
    private bool _bodyVerified;
    private byte[]? _body;
    private int _bodyRead;

    private byte[]? _handedOut;
    private byte[]? _arena;

    /// <summary>Bytes of a partly received packet currently held by the codec (for memory accounting and tests).</summary>
    public int BufferedReceiveBytes => _bodyRead + _headerRead;

    /// <summary>
    /// Bytes of a bad packet still to be discarded. A packet whose type header breaks a rule is reported as soon as
    /// that header is complete, while libusbredirparser reports it once the whole packet has arrived; the bytes
    /// skipped are the same, so the two agree on every packet boundary.
    /// </summary>
    internal long PendingSkipBytes => _skip;

    /// <summary>
    /// Parses <paramref name="data"/> (any fragment of the stream, split anywhere) and returns the packets and errors it
    /// completed. The bytes are copied, so the caller may reuse its buffer at once; event payloads stay valid until the
    /// next Receive call. Bad packets are skipped exactly as libusbredirparser skips them and reported as error events.
    /// </summary>
    public UsbRedirEventBatch Receive(ReadOnlySpan<byte> data)
    {
        BeginReceive();
        if (data.IsEmpty) return new UsbRedirEventBatch(_events);
        if (_arena is null || _arena.Length < data.Length)
        {
            if (_arena is not null) ArrayPool<byte>.Shared.Return(_arena);
            _arena = ArrayPool<byte>.Shared.Rent(data.Length);
        }
        data.CopyTo(_arena);
        Parse(_arena.AsMemory(0, data.Length));
        return new UsbRedirEventBatch(_events);
    }

    /// <summary>
    /// Like <see cref="Receive"/>, but payloads of packets lying wholly inside <paramref name="data"/> are slices of it
    /// (no copy): the caller must leave that memory untouched until it has handled the events.
    /// </summary>
    public UsbRedirEventBatch ReceiveInPlace(ReadOnlyMemory<byte> data)
    {
        BeginReceive();
        Parse(data);
        return new UsbRedirEventBatch(_events);
    }

    private void BeginReceive()
    {
        _events.Clear();
        if (_handedOut is not null)
        {
            ArrayPool<byte>.Shared.Return(_handedOut);
            _handedOut = null;
        }
    }

    private void Parse(ReadOnlyMemory<byte> input)
    {
        var span = input.Span;
        var pos = 0;
        while (true)
        {
            if (_skip > 0)
            {
                var n = (int)Math.Min(_skip, span.Length - pos);
                pos += n;
                _skip -= n;
                if (_skip > 0) return;
            }

            if (!_inBody)
            {
                var hl = _headerSize;
                if (_headerRead == 0 && span.Length - pos >= hl)
                {
                    OnHeader(span.Slice(pos, hl));
                    pos += hl;
                    // The common case, a whole packet inside the input: deliver it without another round of the loop.
                    if (_inBody && span.Length - pos >= (int)_length)
                    {
                        var length = (int)_length;
                        _inBody = false;
                        OnBody(input.Slice(pos, length), span.Slice(pos, length));
                        pos += length;
                    }
                    continue;
                }
                var take = Math.Min(hl - _headerRead, span.Length - pos);
                if (take == 0) return;
                span.Slice(pos, take).CopyTo(_headerBuf.AsSpan(_headerRead));
                _headerRead += take;
                pos += take;
                if (_headerRead < hl) return;
                _headerRead = 0;
                OnHeader(_headerBuf.AsSpan(0, hl));
                continue;
            }

            var need = (int)_length - _bodyRead;
            var available = span.Length - pos;
            if (_bodyRead == 0 && available >= need)
            {
                _inBody = false;
                var body = input.Slice(pos, need);
                OnBody(body, span.Slice(pos, need));
                pos += need;
                continue;
            }
            if (available == 0) return;
            var chunk = Math.Min(need, available);
            AppendBody(span.Slice(pos, chunk));
            pos += chunk;
            if (!_bodyVerified && _bodyRead >= _typeHeaderLength)
            {
                // Check the header as soon as it is complete so a bad packet is skipped, not gathered (up to 128 MiB).
                if (!VerifyHeader(_body.AsSpan(0, _typeHeaderLength), (int)_length - _typeHeaderLength))
                {
                    _skip = _length - (uint)_bodyRead;
                    DropBody();
                    continue;
                }
                _bodyVerified = true;
            }
            if (_bodyRead == (int)_length)
            {
                _inBody = false;
                var body = _body!;
                _handedOut = body;
                _body = null;
                _bodyRead = 0;
                OnBody(body.AsMemory(0, (int)_length), body.AsSpan(0, (int)_length));
            }
        }
    }

    private void OnHeader(ReadOnlySpan<byte> header)
    {
        var type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var id = header.Length == UsbRedirLimits.HeaderSize64
            ? BinaryPrimitives.ReadUInt64LittleEndian(header[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        var toHost = Role == UsbRedirRole.UsbHost;
        var typeHeaderLength = PacketRules.TypeHeaderLength(type, toHost, _negotiated);
        if (typeHeaderLength < 0)
        {
            if (PacketRules.IsKnownType(type))
                SkipPacket(type, length, UsbRedirViolation.WrongDirection,
                    $"{PacketNames.Of((UsbRedirPacketType)type)} may not be sent {(toHost ? "to a usb-host" : "to a usb-guest")}");
            else
                SkipPacket(type, length, UsbRedirViolation.UnknownPacketType, $"invalid usb-redir packet type {type}");
            return;
        }
        if (length > UsbRedirLimits.MaxPacketSize)
        {
            SkipPacket(type, length, UsbRedirViolation.PacketTooLarge, $"{PacketNames.Of((UsbRedirPacketType)type)} length {length} exceeds the {UsbRedirLimits.MaxPacketSize}-byte limit");
            return;
        }
        if (length < typeHeaderLength)
        {
            SkipPacket(type, length, UsbRedirViolation.LengthShorterThanHeader, $"{PacketNames.Of((UsbRedirPacketType)type)} length {length} is shorter than its {typeHeaderLength}-byte header");
            return;
        }
        if (length > typeHeaderLength && !PacketRules.MayCarryPayload(type))
        {
            SkipPacket(type, length, UsbRedirViolation.UnexpectedExtraData, $"{PacketNames.Of((UsbRedirPacketType)type)} length {length} exceeds its {typeHeaderLength}-byte header and it carries no payload");
            return;
        }
        _inBody = true;
        _type = type;
        _length = length;
        _id = id;
        _typeHeaderLength = typeHeaderLength;
        _bodyVerified = false;
        _bodyRead = 0;
    }

    private void SkipPacket(uint type, uint length, UsbRedirViolation violation, string message)
    {
        // libusbredirparser keeps the count to skip in an int: a length of 2^31 or more skips nothing and parsing
        // resumes right after the header. Skipping the same bytes keeps both parsers on the same packet boundaries.
        _skip = length > int.MaxValue ? 0 : length;
        _events.Add(new UsbRedirEvent(new UsbRedirProtocolError((UsbRedirPacketType)type, violation, message, _skip)));
    }

    private bool VerifyHeader(ReadOnlySpan<byte> typeHeader, int payloadLength)
    {
        if (PacketRules.TryVerifyHeader(_type, typeHeader, payloadLength, Role == UsbRedirRole.UsbHost, _negotiated, Capabilities,
                out var violation, out var message))
            return true;
        _events.Add(new UsbRedirEvent(new UsbRedirProtocolError((UsbRedirPacketType)_type, violation, message!, _length)));
        return false;
    }

    // The span is the same bytes as the memory: taken once by the caller, as ReadOnlyMemory.Span costs on the hot path.
    private void OnBody(ReadOnlyMemory<byte> body, ReadOnlySpan<byte> bodySpan)
    {
        if (!_bodyVerified && !VerifyHeader(bodySpan[.._typeHeaderLength], bodySpan.Length - _typeHeaderLength)) return;
        if (!PacketRules.TryVerifyPayload(_type, bodySpan[_typeHeaderLength..], out var violation, out var message))
        {
            _events.Add(new UsbRedirEvent(new UsbRedirProtocolError((UsbRedirPacketType)_type, violation, message!, _length)));
            return;
        }
        if (_type == (uint)UsbRedirPacketType.Hello)
        {
            OnHello(body[.._typeHeaderLength], bodySpan[_typeHeaderLength..]);
            return;
        }
        _events.Add(new UsbRedirEvent((UsbRedirPacketType)_type, _id, body, _typeHeaderLength, null));
    }

    private void OnHello(ReadOnlyMemory<byte> versionField, ReadOnlySpan<byte> caps)
    {
        if (_peerCaps.HasValue)
        {
            _events.Add(new UsbRedirEvent(new UsbRedirProtocolError(UsbRedirPacketType.Hello, UsbRedirViolation.DuplicateHello,
                "received a second hello; it was ignored", 0)));
            return;
        }
        // The C parser forces termination at byte 63 and reads up to the first NUL.
        var text = versionField.Span[..(UsbRedirLimits.VersionFieldSize - 1)];
        var nul = text.IndexOf((byte)0);
        var version = Encoding.UTF8.GetString(nul >= 0 ? text[..nul] : text);
        var words = caps.Length / 4;
        var peer = words > 0 ? (UsbRedirCapabilities)BinaryPrimitives.ReadUInt32LittleEndian(caps) : UsbRedirCapabilities.None;
        var sanitized = Sanitize(peer);
        PeerVersion = version;
        SetPeerCapabilities(sanitized);
        // The raw version field stays available (TypeHeaderBytes): it is free text and need not be valid UTF-8.
        _events.Add(new UsbRedirEvent(UsbRedirPacketType.Hello, _id, versionField, versionField.Length, new HelloInfo(version, sanitized, words)));
        if (sanitized != peer)
            _events.Add(new UsbRedirEvent(new UsbRedirProtocolError(UsbRedirPacketType.Hello, UsbRedirViolation.InconsistentPeerCapabilities,
                "the peer advertised bulk_streams without ep_info_max_packet_size; bulk_streams was cleared", 0)));
        FlushDeferred();
    }

    private void AppendBody(ReadOnlySpan<byte> chunk)
    {
        var needed = _bodyRead + chunk.Length;
        if (_body is null || _body.Length < needed)
        {
            // Grow geometrically but never beyond the declared length, and only as far as bytes have arrived.
            var size = Math.Min((int)_length, Math.Max(needed, Math.Max(MinPendingBuffer, (_body?.Length ?? 0) * 2)));
            var grown = ArrayPool<byte>.Shared.Rent(size);
            if (_body is not null)
            {
                _body.AsSpan(0, _bodyRead).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_body);
            }
            _body = grown;
        }
        chunk.CopyTo(_body.AsSpan(_bodyRead));
        _bodyRead = needed;
    }

    private void DropBody()
    {
        _inBody = false;
        _bodyRead = 0;
        if (_body is not null) ArrayPool<byte>.Shared.Return(_body);
        _body = null;
    }
}
