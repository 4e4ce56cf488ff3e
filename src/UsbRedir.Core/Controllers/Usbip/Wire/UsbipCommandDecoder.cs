using System.Buffers.Binary;
using UsbRedir.Devices;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// Server side of the USB/IP URB phase, sans I/O: feed it the bytes the client (vhci_hcd) sent, in fragments split
/// anywhere, and it returns the CMD_SUBMIT / CMD_UNLINK PDUs they completed. A PDU that breaks the protocol yields one
/// <see cref="UsbipMalformedStream"/> and the decoder stops: USB/IP cannot resynchronise.
/// </summary>
/// <remarks>
/// Whether iso packet descriptors follow a CMD_SUBMIT is not in the PDU: the client sends them when the endpoint is
/// isochronous (vhci_tx checks the pipe type, the stub driver its endpoint descriptor). The caller answers that from
/// the device's active configuration through the delegate given to the constructor.
/// </remarks>
public sealed class UsbipCommandDecoder
{
    private readonly Func<byte, bool> _isIsochronous;
    private readonly byte[] _header = new byte[UsbipLimits.HeaderSize];
    private readonly List<UsbipEvent> _events = [];
    private int _headerRead;

    // The CMD_SUBMIT whose payload (OUT data, then iso descriptors) is being gathered.
    private PendingSubmit? _pending;
    private byte[] _payload = [];
    private int _payloadRead;

    private long _consumed;
    private long _pduStart;

    /// <param name="isIsochronous">Given an endpoint address (bit 7 = IN), whether that endpoint is isochronous now.</param>
    public UsbipCommandDecoder(Func<byte, bool> isIsochronous) => _isIsochronous = isIsochronous;

    /// <summary>Set once a malformed PDU was seen; later input is ignored.</summary>
    public bool IsFaulted { get; private set; }

    /// <summary>Bytes of a partly received PDU held by the decoder.</summary>
    public int BufferedBytes => _headerRead + _payloadRead;

    /// <summary>
    /// Parses <paramref name="data"/> and returns the events it completed (valid until the next call; the payload
    /// memory of a submit belongs to it and is never reused by the decoder).
    /// </summary>
    public IReadOnlyList<UsbipEvent> Receive(ReadOnlySpan<byte> data)
    {
        _events.Clear();
        while (!data.IsEmpty && !IsFaulted)
        {
            if (_pending is null)
            {
                if (_headerRead == 0) _pduStart = _consumed;
                var take = Math.Min(UsbipLimits.HeaderSize - _headerRead, data.Length);
                data[..take].CopyTo(_header.AsSpan(_headerRead));
                _headerRead += take;
                _consumed += take;
                data = data[take..];
                if (_headerRead == UsbipLimits.HeaderSize)
                {
                    _headerRead = 0;
                    OnHeader(_header);
                }
            }
            else
            {
                var take = Math.Min(_payload.Length - _payloadRead, data.Length);
                data[..take].CopyTo(_payload.AsSpan(_payloadRead));
                _payloadRead += take;
                _consumed += take;
                data = data[take..];
                if (_payloadRead == _payload.Length)
                    CompleteSubmit();
            }
        }
        return _events;
    }

    private void OnHeader(ReadOnlySpan<byte> h)
    {
        var command = BinaryPrimitives.ReadUInt32BigEndian(h);
        var seqnum = BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
        var devid = BinaryPrimitives.ReadUInt32BigEndian(h[8..]);
        var direction = BinaryPrimitives.ReadUInt32BigEndian(h[12..]);
        var ep = BinaryPrimitives.ReadUInt32BigEndian(h[16..]);
        switch ((UsbipCommand)command)
        {
            case UsbipCommand.CmdUnlink:
                // direction and ep of an unlink carry nothing (vhci_tx leaves them 0); only the target seqnum counts.
                _events.Add(new UsbipUnlinkCommand(seqnum, devid, BinaryPrimitives.ReadUInt32BigEndian(h[20..])));
                return;
            case UsbipCommand.CmdSubmit:
                break;
            case UsbipCommand.RetSubmit or UsbipCommand.RetUnlink:
                Fail($"received {(UsbipCommand)command} (seqnum {seqnum}), which only a server sends; the peer is not a USB/IP client");
                return;
            default:
                Fail($"unknown USB/IP command 0x{command:x8} (seqnum {seqnum})");
                return;
        }

        if (direction > 1)
        {
            Fail($"CMD_SUBMIT seqnum {seqnum}: direction {direction} is neither 0 (OUT) nor 1 (IN)");
            return;
        }
        if (ep > UsbipLimits.MaxEndpointNumber)
        {
            Fail($"CMD_SUBMIT seqnum {seqnum}: endpoint number {ep} is above {UsbipLimits.MaxEndpointNumber}");
            return;
        }
        var flags = (UsbipTransferFlags)BinaryPrimitives.ReadUInt32BigEndian(h[20..]);
        var length = BinaryPrimitives.ReadInt32BigEndian(h[24..]);
        var startFrame = BinaryPrimitives.ReadInt32BigEndian(h[28..]);
        var packets = BinaryPrimitives.ReadInt32BigEndian(h[32..]);
        var interval = BinaryPrimitives.ReadInt32BigEndian(h[36..]);
        var setup = UsbSetupPacket.Read(h[40..48]);
        if (length < 0 || length > UsbipLimits.MaxTransferLength)
        {
            Fail($"CMD_SUBMIT seqnum {seqnum}: transfer_buffer_length {length} is outside 0..{UsbipLimits.MaxTransferLength}");
            return;
        }
        var directionIn = direction == 1;
        var address = (byte)(ep | (directionIn ? 0x80u : 0u));
        var iso = ep != 0 && _isIsochronous(address);
        if (iso && (packets < 0 || packets > UsbipLimits.MaxIsoPackets))
        {
            Fail($"CMD_SUBMIT seqnum {seqnum}: isochronous number_of_packets {packets} is outside 0..{UsbipLimits.MaxIsoPackets}");
            return;
        }

        var dataLength = directionIn ? 0 : length;
        var isoLength = iso ? packets * UsbipLimits.IsoPacketDescriptorSize : 0;
        _pending = new PendingSubmit(seqnum, devid, directionIn, ep, flags, length, startFrame, packets, interval, setup, iso, dataLength);
        _payload = dataLength + isoLength == 0 ? [] : new byte[dataLength + isoLength];
        _payloadRead = 0;
        if (_payload.Length == 0)
            CompleteSubmit();
    }

    private void CompleteSubmit()
    {
        var p = _pending!;
        _pending = null;
        var isoPackets = Array.Empty<UsbipIsoPacket>();
        if (p.Isochronous && p.NumberOfPackets > 0)
        {
            isoPackets = new UsbipIsoPacket[p.NumberOfPackets];
            var d = _payload.AsSpan(p.DataLength);
            for (var i = 0; i < isoPackets.Length; i++, d = d[UsbipLimits.IsoPacketDescriptorSize..])
            {
                var packet = new UsbipIsoPacket(
                    BinaryPrimitives.ReadUInt32BigEndian(d),
                    BinaryPrimitives.ReadUInt32BigEndian(d[4..]),
                    BinaryPrimitives.ReadUInt32BigEndian(d[8..]),
                    BinaryPrimitives.ReadInt32BigEndian(d[12..]));
                if ((ulong)packet.Offset + packet.Length > (ulong)p.TransferBufferLength)
                {
                    Fail($"CMD_SUBMIT seqnum {p.Seqnum}: iso packet {i} (offset {packet.Offset}, length {packet.Length}) " +
                         $"lies outside the {p.TransferBufferLength}-byte transfer buffer");
                    return;
                }
                isoPackets[i] = packet;
            }
        }
        _events.Add(new UsbipSubmitCommand(p.Seqnum, p.DeviceId, p.DirectionIn, p.EndpointNumber, p.Flags, p.TransferBufferLength,
            p.StartFrame, p.NumberOfPackets, p.Interval, p.Setup, _payload.AsMemory(0, p.DataLength), isoPackets)
        {
            IsIsochronous = p.Isochronous,
        });
        _payload = [];
        _payloadRead = 0;
    }

    private void Fail(string message)
    {
        IsFaulted = true;
        _pending = null;
        _payload = [];
        _events.Add(new UsbipMalformedStream(message, _pduStart));
    }

    private sealed record PendingSubmit(
        uint Seqnum, uint DeviceId, bool DirectionIn, uint EndpointNumber, UsbipTransferFlags Flags, int TransferBufferLength,
        int StartFrame, int NumberOfPackets, int Interval, UsbSetupPacket Setup, bool Isochronous, int DataLength);
}
