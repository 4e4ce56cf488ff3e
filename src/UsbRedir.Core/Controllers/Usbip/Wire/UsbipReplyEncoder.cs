using System.Buffers.Binary;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// Server side of the USB/IP URB phase, sans I/O: builds RET_SUBMIT and RET_UNLINK PDUs. Each RET_SUBMIT is built from
/// the CMD_SUBMIT it answers, so the invariants vhci_hcd enforces (it drops the connection otherwise) hold by
/// construction: never more data than requested, iso packet counts equal to the submitted ones, and actual_length
/// equal to the sum of the packets' actual lengths. A reply that would break them is refused with an exception.
/// </summary>
public static class UsbipReplyEncoder
{
    /// <summary>RET_SUBMIT for a control, bulk or interrupt URB.</summary>
    /// <param name="request">The CMD_SUBMIT being answered (must not be isochronous).</param>
    /// <param name="status">0 or a negative Linux errno (see <see cref="Urbs.UrbStatusCodes.ToLinuxErrno"/>).</param>
    /// <param name="actualLength">Bytes transferred: at most the request's transfer_buffer_length.</param>
    /// <param name="inData">For IN, at least <paramref name="actualLength"/> bytes, of which that many are sent; ignored for OUT.</param>
    public static byte[] EncodeRetSubmit(UsbipSubmitCommand request, int status, int actualLength, ReadOnlySpan<byte> inData)
    {
        CheckRetSubmit(request, actualLength);
        if (request.DirectionIn && inData.Length < actualLength)
            throw Invalid(request, $"only {inData.Length} IN bytes supplied for actual_length {actualLength}");
        var pdu = new byte[RetSubmitLength(request, actualLength)];
        if (request.DirectionIn)
            inData[..actualLength].CopyTo(pdu.AsSpan(UsbipLimits.HeaderSize));
        EncodeRetSubmitInPlace(request, status, actualLength, pdu);
        return pdu;
    }

    /// <summary>
    /// RET_SUBMIT written around data already in place, so a large IN transfer is never copied: the device filled
    /// <c>pdu[48..]</c> with its IN data and only the header is written here. Returns the PDU's length
    /// (<see cref="RetSubmitLength"/>); <paramref name="pdu"/> must be at least that long.
    /// </summary>
    public static int EncodeRetSubmitInPlace(UsbipSubmitCommand request, int status, int actualLength, Span<byte> pdu)
    {
        CheckRetSubmit(request, actualLength);
        var length = RetSubmitLength(request, actualLength);
        if (pdu.Length < length)
            throw Invalid(request, $"needs {length} bytes but the buffer has {pdu.Length}");
        pdu[..UsbipLimits.HeaderSize].Clear();
        // Echo start_frame and number_of_packets as the stub driver does: vhci_hcd copies them back into its URB
        // (clamping a negative packet count to 0), so the URB comes back as it went out.
        WriteRetSubmitHeader(pdu, request.Seqnum, status, actualLength, request.StartFrame, request.NumberOfPackets, 0);
        return length;
    }

    /// <summary>Bytes of the RET_SUBMIT answering a non-isochronous <paramref name="request"/> with <paramref name="actualLength"/>.</summary>
    public static int RetSubmitLength(UsbipSubmitCommand request, int actualLength) =>
        UsbipLimits.HeaderSize + (request.DirectionIn ? actualLength : 0);

    private static void CheckRetSubmit(UsbipSubmitCommand request, int actualLength)
    {
        if (request.IsIsochronous)
            throw Invalid(request, "is isochronous: use EncodeIsoRetSubmit");
        if (actualLength < 0 || actualLength > request.TransferBufferLength)
            throw Invalid(request, $"actual_length {actualLength} is outside 0..{request.TransferBufferLength} (the requested length)");
    }

    /// <summary>RET_SUBMIT for an isochronous URB.</summary>
    /// <param name="request">The isochronous CMD_SUBMIT being answered.</param>
    /// <param name="status">Overall status, usually 0: per-packet errors go in the packets.</param>
    /// <param name="results">One per submitted packet, in order; only ActualLength and Status are used (offset and
    /// length are the submitted ones). ActualLength may not exceed the packet's submitted length.</param>
    /// <param name="packedInData">For IN, the packets' data back to back (exactly the sum of the actual lengths); empty for OUT.</param>
    /// <param name="startFrame">The frame the transfer started in.</param>
    public static byte[] EncodeIsoRetSubmit(UsbipSubmitCommand request, int status, ReadOnlySpan<UsbipIsoPacket> results,
        ReadOnlySpan<byte> packedInData, int startFrame)
    {
        if (!request.IsIsochronous)
            throw Invalid(request, "is not isochronous: use EncodeRetSubmit");
        if (results.Length != request.IsoPackets.Count)
            throw Invalid(request, $"{results.Length} iso results for {request.IsoPackets.Count} submitted packets");
        long total = 0;
        var errors = 0;
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i].ActualLength > request.IsoPackets[i].Length)
                throw Invalid(request, $"iso packet {i}: actual_length {results[i].ActualLength} exceeds its length {request.IsoPackets[i].Length}");
            total += results[i].ActualLength;
            if (results[i].Status != 0) errors++;
        }
        if (!request.DirectionIn && !packedInData.IsEmpty)
            throw Invalid(request, "is OUT but IN data was supplied");
        if (request.DirectionIn && packedInData.Length != total)
            throw Invalid(request, $"packed IN data is {packedInData.Length} bytes but the packets' actual lengths add up to {total}");

        var payload = (request.DirectionIn ? (int)total : 0) + results.Length * UsbipLimits.IsoPacketDescriptorSize;
        var pdu = new byte[UsbipLimits.HeaderSize + payload];
        WriteRetSubmitHeader(pdu, request.Seqnum, status, (int)total, startFrame, results.Length, errors);
        var rest = pdu.AsSpan(UsbipLimits.HeaderSize);
        if (request.DirectionIn)
        {
            packedInData.CopyTo(rest);
            rest = rest[packedInData.Length..];
        }
        for (var i = 0; i < results.Length; i++, rest = rest[UsbipLimits.IsoPacketDescriptorSize..])
        {
            BinaryPrimitives.WriteUInt32BigEndian(rest, request.IsoPackets[i].Offset);
            BinaryPrimitives.WriteUInt32BigEndian(rest[4..], request.IsoPackets[i].Length);
            BinaryPrimitives.WriteUInt32BigEndian(rest[8..], results[i].ActualLength);
            BinaryPrimitives.WriteInt32BigEndian(rest[12..], results[i].Status);
        }
        return pdu;
    }

    /// <summary>
    /// RET_UNLINK answering the CMD_UNLINK with <paramref name="unlinkPduSeqnum"/> (the unlink's own seqnum):
    /// -ECONNRESET when the URB was cancelled (then no RET_SUBMIT may follow for it), 0 when its RET_SUBMIT was already sent.
    /// </summary>
    public static byte[] EncodeRetUnlink(uint unlinkPduSeqnum, int status)
    {
        var pdu = new byte[UsbipLimits.HeaderSize];
        WriteBasicHeader(pdu, UsbipCommand.RetUnlink, unlinkPduSeqnum);
        BinaryPrimitives.WriteInt32BigEndian(pdu.AsSpan(20), status);
        return pdu;
    }

    private static void WriteRetSubmitHeader(Span<byte> pdu, uint seqnum, int status, int actualLength, int startFrame, int packets, int errorCount)
    {
        WriteBasicHeader(pdu, UsbipCommand.RetSubmit, seqnum);
        BinaryPrimitives.WriteInt32BigEndian(pdu[20..], status);
        BinaryPrimitives.WriteInt32BigEndian(pdu[24..], actualLength);
        BinaryPrimitives.WriteInt32BigEndian(pdu[28..], startFrame);
        BinaryPrimitives.WriteInt32BigEndian(pdu[32..], packets);
        BinaryPrimitives.WriteInt32BigEndian(pdu[36..], errorCount);
    }

    // Replies carry devid, direction and ep as 0: vhci_hcd matches replies by seqnum alone (usbip_protocol.rst).
    private static void WriteBasicHeader(Span<byte> pdu, UsbipCommand command, uint seqnum)
    {
        BinaryPrimitives.WriteUInt32BigEndian(pdu, (uint)command);
        BinaryPrimitives.WriteUInt32BigEndian(pdu[4..], seqnum);
    }

    private static UsbRedirException Invalid(UsbipSubmitCommand request, string why) =>
        new("UsbipReplyInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"Cannot answer USB/IP CMD_SUBMIT seqnum {request.Seqnum} (endpoint 0x{request.EndpointAddress:x2}): the reply {why}.",
            "This is a bug in the device or backend producing the reply; vhci_hcd would drop the connection on such a PDU.",
            request);
}
