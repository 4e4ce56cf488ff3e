using System.Buffers.Binary;

namespace UsbRedir.Protocol;

/// <summary>
/// The per-type rules of libusbredirparser (usbredirparser_get_type_header_len, _expect_extra_data and
/// _verify_type_header), applied to raw header bytes so that sending and receiving check exactly the same thing.
/// </summary>
internal static class PacketRules
{
    /// <summary>
    /// Size of the type-specific header, or -1 when <paramref name="type"/> is unknown or may not travel towards
    /// the side given by <paramref name="toHost"/>. <paramref name="negotiated"/> = our caps ∩ peer caps.
    /// </summary>
    public static int TypeHeaderLength(uint type, bool toHost, UsbRedirCapabilities negotiated) => (UsbRedirPacketType)type switch
    {
        UsbRedirPacketType.Hello => UsbRedirLimits.VersionFieldSize,
        UsbRedirPacketType.DeviceConnect => toHost ? -1
            : (negotiated & UsbRedirCapabilities.ConnectDeviceVersion) != 0 ? DeviceConnectHeader.FullSize : DeviceConnectHeader.ShortSize,
        UsbRedirPacketType.DeviceDisconnect => toHost ? -1 : 0,
        UsbRedirPacketType.Reset => toHost ? 0 : -1,
        UsbRedirPacketType.InterfaceInfo => toHost ? -1 : InterfaceInfoHeader.Size,
        UsbRedirPacketType.EpInfo => toHost ? -1
            : (negotiated & UsbRedirCapabilities.BulkStreams) != 0 ? EpInfoHeader.FullSize
            : (negotiated & UsbRedirCapabilities.EpInfoMaxPacketSize) != 0 ? EpInfoHeader.WithMaxPacketSizeSize
            : EpInfoHeader.BaseSize,
        UsbRedirPacketType.SetConfiguration => toHost ? 1 : -1,
        UsbRedirPacketType.GetConfiguration => toHost ? 0 : -1,
        UsbRedirPacketType.ConfigurationStatus => toHost ? -1 : 2,
        UsbRedirPacketType.SetAltSetting => toHost ? 2 : -1,
        UsbRedirPacketType.GetAltSetting => toHost ? 1 : -1,
        UsbRedirPacketType.AltSettingStatus => toHost ? -1 : 3,
        UsbRedirPacketType.StartIsoStream => toHost ? 3 : -1,
        UsbRedirPacketType.StopIsoStream => toHost ? 1 : -1,
        UsbRedirPacketType.IsoStreamStatus => toHost ? -1 : 2,
        UsbRedirPacketType.StartInterruptReceiving => toHost ? 1 : -1,
        UsbRedirPacketType.StopInterruptReceiving => toHost ? 1 : -1,
        UsbRedirPacketType.InterruptReceivingStatus => toHost ? -1 : 2,
        UsbRedirPacketType.AllocBulkStreams => toHost ? 8 : -1,
        UsbRedirPacketType.FreeBulkStreams => toHost ? 4 : -1,
        UsbRedirPacketType.BulkStreamsStatus => toHost ? -1 : 9,
        UsbRedirPacketType.CancelDataPacket => toHost ? 0 : -1,
        UsbRedirPacketType.FilterReject => toHost ? 0 : -1,
        UsbRedirPacketType.FilterFilter => 0,
        UsbRedirPacketType.DeviceDisconnectAck => toHost ? 0 : -1,
        UsbRedirPacketType.StartBulkReceiving => toHost ? 10 : -1,
        UsbRedirPacketType.StopBulkReceiving => toHost ? 5 : -1,
        UsbRedirPacketType.BulkReceivingStatus => toHost ? -1 : 6,
        UsbRedirPacketType.ControlPacket => ControlPacketHeader.Size,
        UsbRedirPacketType.BulkPacket =>
            (negotiated & UsbRedirCapabilities.BulkLength32Bit) != 0 ? BulkPacketHeader.FullSize : BulkPacketHeader.ShortSize,
        UsbRedirPacketType.IsoPacket => IsoPacketHeader.Size,
        UsbRedirPacketType.InterruptPacket => InterruptPacketHeader.Size,
        UsbRedirPacketType.BufferedBulkPacket => toHost ? -1 : BufferedBulkPacketHeader.Size,
        _ => -1,
    };

    /// <summary>True for a type number the protocol defines (in some direction).</summary>
    public static bool IsKnownType(uint type) => type <= 27 || type is >= 100 and <= 104;

    /// <summary>The seven types that may carry bytes after their type-specific header.</summary>
    public static bool MayCarryPayload(uint type) => (UsbRedirPacketType)type is UsbRedirPacketType.Hello
        or UsbRedirPacketType.FilterFilter or UsbRedirPacketType.ControlPacket or UsbRedirPacketType.BulkPacket
        or UsbRedirPacketType.IsoPacket or UsbRedirPacketType.InterruptPacket or UsbRedirPacketType.BufferedBulkPacket;

    /// <summary>
    /// Checks everything that depends on the type header and the payload length (not on payload bytes).
    /// <paramref name="toHost"/>: the packet travels guest → host. <paramref name="permissionCaps"/>: the caps that grant
    /// filter / disconnect ack / bulk receiving — the peer's when sending, our own when receiving.
    /// </summary>
    public static bool TryVerifyHeader(uint type, ReadOnlySpan<byte> h, long payloadLength, bool toHost,
        UsbRedirCapabilities negotiated, UsbRedirCapabilities permissionCaps,
        out UsbRedirViolation violation, out string? message)
    {
        violation = default;
        message = null;
        long length = -1;
        int ep = -1;
        switch ((UsbRedirPacketType)type)
        {
            case UsbRedirPacketType.InterfaceInfo:
                var count = BinaryPrimitives.ReadUInt32LittleEndian(h);
                if (count > UsbRedirLimits.MaxInterfaces)
                    return Fail(UsbRedirViolation.InterfaceCountTooLarge, $"interface_info interface_count {count} > {UsbRedirLimits.MaxInterfaces}", out violation, out message);
                break;
            case UsbRedirPacketType.StartInterruptReceiving:
            case UsbRedirPacketType.StopInterruptReceiving:
                if ((h[0] & 0x80) == 0) return NotInput(type, h[0], out violation, out message);
                break;
            case UsbRedirPacketType.InterruptReceivingStatus:
                if ((h[1] & 0x80) == 0) return NotInput(type, h[1], out violation, out message);
                break;
            case UsbRedirPacketType.FilterReject:
                if (!Has(permissionCaps, UsbRedirCapabilities.Filter, type, out violation, out message)) return false;
                break;
            case UsbRedirPacketType.FilterFilter:
                if (!Has(permissionCaps, UsbRedirCapabilities.Filter, type, out violation, out message)) return false;
                if (payloadLength < 1)
                    return Fail(UsbRedirViolation.FilterEmpty, "filter_filter without a filter string", out violation, out message);
                break;
            case UsbRedirPacketType.DeviceDisconnectAck:
                if (!Has(permissionCaps, UsbRedirCapabilities.DeviceDisconnectAck, type, out violation, out message)) return false;
                break;
            case UsbRedirPacketType.StartBulkReceiving:
            {
                if (!Has(permissionCaps, UsbRedirCapabilities.BulkReceiving, type, out violation, out message)) return false;
                var bytesPerTransfer = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
                if (bytesPerTransfer > UsbRedirLimits.MaxBulkTransferSize)
                    return Fail(UsbRedirViolation.BulkLengthTooLarge,
                        $"start_bulk_receiving bytes_per_transfer {bytesPerTransfer} > {UsbRedirLimits.MaxBulkTransferSize}", out violation, out message);
                if ((h[8] & 0x80) == 0) return NotInput(type, h[8], out violation, out message);
                break;
            }
            case UsbRedirPacketType.StopBulkReceiving:
            case UsbRedirPacketType.BulkReceivingStatus:
                if (!Has(permissionCaps, UsbRedirCapabilities.BulkReceiving, type, out violation, out message)) return false;
                if ((h[4] & 0x80) == 0) return NotInput(type, h[4], out violation, out message);
                break;
            case UsbRedirPacketType.ControlPacket:
                length = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
                ep = h[0];
                break;
            case UsbRedirPacketType.BulkPacket:
                length = BinaryPrimitives.ReadUInt16LittleEndian(h[2..]);
                if ((negotiated & UsbRedirCapabilities.BulkLength32Bit) != 0)
                    length |= (long)BinaryPrimitives.ReadUInt16LittleEndian(h[8..]) << 16;
                if (length > UsbRedirLimits.MaxBulkTransferSize)
                    return Fail(UsbRedirViolation.BulkLengthTooLarge,
                        $"bulk_packet length {length} > {UsbRedirLimits.MaxBulkTransferSize}", out violation, out message);
                ep = h[0];
                break;
            case UsbRedirPacketType.IsoPacket:
            case UsbRedirPacketType.InterruptPacket:
                length = BinaryPrimitives.ReadUInt16LittleEndian(h[2..]);
                ep = h[0];
                break;
            case UsbRedirPacketType.BufferedBulkPacket:
                if (!Has(permissionCaps, UsbRedirCapabilities.BulkReceiving, type, out violation, out message)) return false;
                length = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
                if (length > UsbRedirLimits.MaxBulkTransferSize)
                    return Fail(UsbRedirViolation.BulkLengthTooLarge,
                        $"buffered_bulk_packet length {length} > {UsbRedirLimits.MaxBulkTransferSize}", out violation, out message);
                ep = h[8];
                break;
        }

        if (ep < 0) return true;
        var isIn = (ep & 0x80) != 0;
        // Data travels host→guest for IN endpoints and guest→host for OUT endpoints (§1.2).
        var carriesData = isIn ? !toHost : toHost;
        if (carriesData)
        {
            if (payloadLength != length)
                return Fail(UsbRedirViolation.PayloadLengthMismatch,
                    $"{PacketNames.Of((UsbRedirPacketType)type)} on ep 0x{ep:x2} carries {payloadLength} payload bytes but its header says {length}", out violation, out message);
            return true;
        }
        if (payloadLength != 0)
            return Fail(UsbRedirViolation.UnexpectedPayload,
                $"{PacketNames.Of((UsbRedirPacketType)type)} on ep 0x{ep:x2} may carry no payload {(toHost ? "from the usb-guest" : "from the usb-host")} but has {payloadLength} bytes",
                out violation, out message);
        var wrong = (UsbRedirPacketType)type switch
        {
            UsbRedirPacketType.IsoPacket => true,
            UsbRedirPacketType.InterruptPacket => toHost,
            UsbRedirPacketType.BufferedBulkPacket => true,
            _ => false,
        };
        if (wrong)
            return Fail(UsbRedirViolation.DataWrongDirection,
                $"{PacketNames.Of((UsbRedirPacketType)type)} on ep 0x{ep:x2} may not be sent {(toHost ? "by the usb-guest" : "by the usb-host")}", out violation, out message);
        return true;
    }

    /// <summary>The payload-content rule: filter_filter must end with NUL.</summary>
    public static bool TryVerifyPayload(uint type, ReadOnlySpan<byte> payload, out UsbRedirViolation violation, out string? message)
    {
        violation = default;
        message = null;
        if ((UsbRedirPacketType)type == UsbRedirPacketType.FilterFilter && payload.Length > 0 && payload[^1] != 0)
            return Fail(UsbRedirViolation.FilterNotTerminated, "filter_filter string is not NUL-terminated", out violation, out message);
        return true;
    }

    private static bool Has(UsbRedirCapabilities caps, UsbRedirCapabilities cap, uint type,
        out UsbRedirViolation violation, out string? message)
    {
        violation = default;
        message = null;
        if ((caps & cap) != 0) return true;
        return Fail(UsbRedirViolation.MissingCapability,
            $"{PacketNames.Of((UsbRedirPacketType)type)} requires capability {cap}, which is not available", out violation, out message);
    }

    private static bool NotInput(uint type, byte ep, out UsbRedirViolation violation, out string? message) =>
        Fail(UsbRedirViolation.EndpointNotInput,
            $"{PacketNames.Of((UsbRedirPacketType)type)} on non-input endpoint 0x{ep:x2}", out violation, out message);

    private static bool Fail(UsbRedirViolation v, string m, out UsbRedirViolation violation, out string? message)
    {
        violation = v;
        message = m;
        return false;
    }
}
