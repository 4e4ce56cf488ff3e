using System.Buffers;
using System.Runtime.InteropServices;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;
using UsbRedir.Sessions;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// Converts between USB/IP and the backend-neutral URBs of <see cref="UrbRouter"/>: a CMD_SUBMIT becomes a
/// <see cref="Urb"/>, its <see cref="UrbResult"/> becomes the RET_SUBMIT. CMD_SUBMIT carries no transfer type, so the
/// type comes from the device's active configuration, as the stub driver takes it from the endpoint descriptor; the
/// layout is re-read after every successful SET_CONFIGURATION and SET_INTERFACE.
/// </summary>
internal sealed class UsbipUrbTranslator(IUsbDevice device)
{
    private const byte SetConfiguration = 0x09;
    private const byte SetInterface = 0x0B;

    private volatile DeviceLayout _layout = DeviceLayout.ForActiveConfiguration(device);

    /// <summary>Whether an endpoint is isochronous now; the decoder needs it to frame CMD_SUBMIT.</summary>
    public bool IsIsochronous(byte endpointAddress) => TypeOf(endpointAddress) == UsbEndpointType.Isochronous;

    /// <summary>
    /// The URB for <paramref name="command"/>. IN buffers are rented (<paramref name="rented"/>); for bulk, interrupt
    /// and control IN the buffer sits 48 bytes into it, so the device writes straight into the RET_SUBMIT
    /// (<see cref="ToReply"/> takes it over). OUT data is the decoder's own array, used in place.
    /// </summary>
    public Urb ToUrb(UsbipSubmitCommand command, out byte[]? rented)
    {
        rented = null;
        Memory<byte> buffer;
        if (command.DirectionIn)
        {
            var offset = command.IsIsochronous ? 0 : UsbipLimits.HeaderSize;
            rented = ArrayPool<byte>.Shared.Rent(offset + command.TransferBufferLength);
            buffer = rented.AsMemory(offset, command.TransferBufferLength);
        }
        else
        {
            // The decoder gives each OUT payload its own array, so a writable view of it cannot corrupt anything.
            buffer = MemoryMarshal.AsMemory(command.OutData);
        }
        return new Urb
        {
            Id = command.Seqnum,
            Endpoint = command.EndpointAddress,
            Type = command.EndpointNumber == 0 ? UrbTransferType.Control : TransferType(command),
            Setup = command.Setup,
            Buffer = buffer,
            // USBIP_URB_SHORT_NOT_OK, ISO_ASAP and ZERO_PACKET have the values of the kernel's URB_* flags.
            Flags = (UrbFlags)((uint)command.TransferFlags & (uint)(UrbFlags.ShortNotOk | UrbFlags.IsoAsap | UrbFlags.ZeroPacket)),
            Interval = command.Interval,
            IsoPackets = command.IsoPackets.Select(p => new UsbIsoPacket((int)p.Offset, (int)p.Length)).ToArray(),
        };
    }

    /// <summary>
    /// The RET_SUBMIT for <paramref name="command"/> finished with <paramref name="result"/>. When the reply is built in
    /// the rented buffer of <see cref="ToUrb"/>, it takes it over and sets <paramref name="rented"/> to null.
    /// </summary>
    public UsbipOutgoingPdu ToReply(UsbipSubmitCommand command, Urb urb, UrbResult result, ref byte[]? rented)
    {
        if (result.Status == UrbStatus.Success && command.EndpointNumber == 0 && !command.Setup.IsDeviceToHost
            && command.Setup.Request is SetConfiguration or SetInterface && (command.Setup.RequestType & 0x60) == 0)
            _layout = DeviceLayout.ForActiveConfiguration(device);

        if (!command.IsIsochronous)
        {
            if (!command.DirectionIn || rented is null)
                return UsbipOutgoingPdu.Of(UsbipReplyEncoder.EncodeRetSubmit(command, result.LinuxStatus, result.ActualLength, default));
            var length = UsbipReplyEncoder.EncodeRetSubmitInPlace(command, result.LinuxStatus, result.ActualLength, rented);
            var pdu = new UsbipOutgoingPdu(rented, length, Rented: true);
            rented = null;
            return pdu;
        }

        // Isochronous IN data sits at each packet's offset in the URB buffer; USB/IP sends it packed.
        var packets = new UsbipIsoPacket[command.IsoPackets.Count];
        var packed = command.DirectionIn ? new byte[result.IsoPackets?.Sum(p => p.ActualLength) ?? 0] : [];
        var at = 0;
        for (var i = 0; i < packets.Length; i++)
        {
            var r = result.IsoPacketAt(i, new UsbIsoPacket((int)command.IsoPackets[i].Offset, (int)command.IsoPackets[i].Length));
            var actual = r.ActualLength;
            if (command.DirectionIn)
            {
                urb.Buffer.Span.Slice((int)command.IsoPackets[i].Offset, actual).CopyTo(packed.AsSpan(at));
                at += actual;
            }
            packets[i] = new UsbipIsoPacket(0, 0, (uint)actual, UrbStatusCodes.ToLinuxErrno(r.Status));
        }
        return UsbipOutgoingPdu.Of(UsbipReplyEncoder.EncodeIsoRetSubmit(command, result.LinuxStatus, packets, packed.AsSpan(0, at), command.StartFrame));
    }

    /// <summary>The RET_SUBMIT for a URB whose reply could not be built: a protocol error, every length consistent.</summary>
    public static byte[] Failure(UsbipSubmitCommand command) => command.IsIsochronous
        ? UsbipReplyEncoder.EncodeIsoRetSubmit(command, UrbStatusCodes.ToLinuxErrno(UrbStatus.ProtocolError),
            command.IsoPackets.Select(_ => new UsbipIsoPacket(0, 0, 0, UrbStatusCodes.ToLinuxErrno(UrbStatus.NotTransferred))).ToArray(),
            default, command.StartFrame)
        : UsbipReplyEncoder.EncodeRetSubmit(command, UrbStatusCodes.ToLinuxErrno(UrbStatus.ProtocolError), 0, default);

    // Isochronous exactly when the decoder framed it so; otherwise bulk unless interrupt, which includes an endpoint the
    // active configuration does not have: the device answers that one (with a stall).
    private UrbTransferType TransferType(UsbipSubmitCommand command) =>
        command.IsIsochronous ? UrbTransferType.Isochronous
        : TypeOf(command.EndpointAddress) == UsbEndpointType.Interrupt ? UrbTransferType.Interrupt
        : UrbTransferType.Bulk;

    private UsbEndpointType TypeOf(byte endpointAddress) => _layout.EndpointType[DeviceLayout.EndpointIndex(endpointAddress)];
}
