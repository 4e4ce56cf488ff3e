using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Filtering;
using UsbRedir.Protocol;

namespace UsbRedir.Tests.Protocol;

/// <summary>
/// The packet text form of tests/interop/codec_harness.c ("type:id:field:...:hexdata"), produced from the C# codec's
/// events and turned back into C# codec Send calls, so C and C# results compare as plain strings.
/// </summary>
internal static class CodecText
{
    /// <summary>The token for a received packet, or "!" for an error the C parser also reports as a parse error (-2).</summary>
    public static string? Format(in UsbRedirEvent e)
    {
        if (e.Kind == UsbRedirEventKind.Error)
            // These three are logged by the C parser without failing do_read (or cannot happen in C at all).
            return e.Error!.Violation is UsbRedirViolation.DuplicateHello or UsbRedirViolation.InconsistentPeerCapabilities
                or UsbRedirViolation.QueuedPacketDropped ? null : "!";
        // The C callbacks of packets whose id means nothing do not get it; print 0 for those as the harness does.
        var id = e.PacketType is UsbRedirPacketType.Hello or UsbRedirPacketType.DeviceConnect or UsbRedirPacketType.DeviceDisconnect
            or UsbRedirPacketType.Reset or UsbRedirPacketType.InterfaceInfo or UsbRedirPacketType.EpInfo or UsbRedirPacketType.FilterReject
            or UsbRedirPacketType.FilterFilter or UsbRedirPacketType.DeviceDisconnectAck ? 0 : e.Id;
        var head = $"{(uint)e.PacketType}:{id}";
        switch (e.PacketType)
        {
            case UsbRedirPacketType.Hello:
            {
                // The version as raw bytes (the C parser forces a NUL at byte 63); it need not be valid UTF-8.
                var version = e.TypeHeaderBytes.Span[..63];
                var nul = version.IndexOf((byte)0);
                return $"{head}:{(uint)e.Hello.Capabilities}:{Hex(nul >= 0 ? version[..nul] : version)}";
            }
            case UsbRedirPacketType.DeviceConnect:
            {
                var h = e.DeviceConnect;
                var s = Join(head, (byte)h.Speed, h.DeviceClass, h.DeviceSubclass, h.DeviceProtocol, h.VendorId, h.ProductId);
                return h.DeviceVersionBcd is { } bcd ? $"{s}:{bcd}" : s;
            }
            case UsbRedirPacketType.InterfaceInfo:
            {
                var h = e.InterfaceInfo;
                return $"{head}:{h.InterfaceCount}:{Hex(h.InterfaceNumbers)}:{Hex(h.InterfaceClasses)}:{Hex(h.InterfaceSubclasses)}:{Hex(h.InterfaceProtocols)}";
            }
            case UsbRedirPacketType.EpInfo:
            {
                var h = e.EpInfo;
                var s = $"{head}:{Hex(h.Types)}:{Hex(h.Intervals)}:{Hex(h.Interfaces)}";
                if (h.MaxPacketSizes is not null) s += ":" + Hex(e.TypeHeaderBytes.Span.Slice(96, 64));
                if (h.MaxStreams is not null) s += ":" + Hex(e.TypeHeaderBytes.Span.Slice(160, 128));
                return s;
            }
            case UsbRedirPacketType.SetConfiguration: return Join(head, e.SetConfiguration.Configuration);
            case UsbRedirPacketType.ConfigurationStatus: return Join(head, (byte)e.ConfigurationStatus.Status, e.ConfigurationStatus.Configuration);
            case UsbRedirPacketType.SetAltSetting: return Join(head, e.SetAltSetting.Interface, e.SetAltSetting.Alt);
            case UsbRedirPacketType.GetAltSetting: return Join(head, e.GetAltSetting.Interface);
            case UsbRedirPacketType.AltSettingStatus:
                return Join(head, (byte)e.AltSettingStatus.Status, e.AltSettingStatus.Interface, e.AltSettingStatus.Alt);
            case UsbRedirPacketType.StartIsoStream:
                return Join(head, e.StartIsoStream.Endpoint, e.StartIsoStream.PacketsPerUrb, e.StartIsoStream.UrbCount);
            case UsbRedirPacketType.StopIsoStream: return Join(head, e.StopIsoStream.Endpoint);
            case UsbRedirPacketType.IsoStreamStatus: return Join(head, (byte)e.IsoStreamStatus.Status, e.IsoStreamStatus.Endpoint);
            case UsbRedirPacketType.StartInterruptReceiving: return Join(head, e.StartInterruptReceiving.Endpoint);
            case UsbRedirPacketType.StopInterruptReceiving: return Join(head, e.StopInterruptReceiving.Endpoint);
            case UsbRedirPacketType.InterruptReceivingStatus:
                return Join(head, (byte)e.InterruptReceivingStatus.Status, e.InterruptReceivingStatus.Endpoint);
            case UsbRedirPacketType.AllocBulkStreams: return Join(head, e.AllocBulkStreams.Endpoints, e.AllocBulkStreams.StreamCount);
            case UsbRedirPacketType.FreeBulkStreams: return Join(head, e.FreeBulkStreams.Endpoints);
            case UsbRedirPacketType.BulkStreamsStatus:
                return Join(head, e.BulkStreamsStatus.Endpoints, e.BulkStreamsStatus.StreamCount, (byte)e.BulkStreamsStatus.Status);
            case UsbRedirPacketType.FilterFilter:
            {
                // libusbredirparser hands its callback parsed rules and silently drops strings that do not parse;
                // the harness prints them reformatted, so do the same with the C# filter engine.
                if (UsbRedirFilter.StringToRules(e.FilterString, ",", "|", out var rules) != 0) return null;
                var text = UsbRedirFilter.TryFormat(rules, new UsbRedirFilterSeparators(",", "|"), out var s, out _) ? s! : "";
                return $"{head}:{Hex(System.Text.Encoding.UTF8.GetBytes(text))}";
            }
            case UsbRedirPacketType.StartBulkReceiving:
            {
                var h = e.StartBulkReceiving;
                return Join(head, h.StreamId, h.BytesPerTransfer, h.Endpoint, h.TransferCount);
            }
            case UsbRedirPacketType.StopBulkReceiving: return Join(head, e.StopBulkReceiving.StreamId, e.StopBulkReceiving.Endpoint);
            case UsbRedirPacketType.BulkReceivingStatus:
                return Join(head, e.BulkReceivingStatus.StreamId, e.BulkReceivingStatus.Endpoint, (byte)e.BulkReceivingStatus.Status);
            case UsbRedirPacketType.ControlPacket:
            {
                var h = e.ControlPacket;
                return $"{Join(head, h.Endpoint, h.Request, h.RequestType, (byte)h.Status, h.Value, h.Index, h.Length)}:{Hex(e.Payload.Span)}";
            }
            case UsbRedirPacketType.BulkPacket:
            {
                var h = e.BulkPacket;
                return $"{Join(head, h.Endpoint, (byte)h.Status, h.Length, h.StreamId)}:{Hex(e.Payload.Span)}";
            }
            case UsbRedirPacketType.IsoPacket:
                return $"{Join(head, e.IsoPacket.Endpoint, (byte)e.IsoPacket.Status, e.IsoPacket.Length)}:{Hex(e.Payload.Span)}";
            case UsbRedirPacketType.InterruptPacket:
                return $"{Join(head, e.InterruptPacket.Endpoint, (byte)e.InterruptPacket.Status, e.InterruptPacket.Length)}:{Hex(e.Payload.Span)}";
            case UsbRedirPacketType.BufferedBulkPacket:
            {
                var h = e.BufferedBulkPacket;
                return $"{Join(head, h.StreamId, h.Length, h.Endpoint, (byte)h.Status)}:{Hex(e.Payload.Span)}";
            }
            default: // device_disconnect, reset, get_configuration, cancel_data_packet, filter_reject, device_disconnect_ack
                return head;
        }
    }

    /// <summary>Sends the packet a token describes through <paramref name="codec"/> (the C# twin of the harness's E command).</summary>
    public static void Send(UsbRedirCodec codec, string token)
    {
        var f = token.Split(':');
        var type = (UsbRedirPacketType)uint.Parse(f[0]);
        var id = ulong.Parse(f[1]);
        byte B(int i) => byte.Parse(f[i]);
        ushort W(int i) => ushort.Parse(f[i]);
        uint D(int i) => uint.Parse(f[i]);
        UsbStatus S(int i) => (UsbStatus)byte.Parse(f[i]);
        byte[] X(int i) => Convert.FromHexString(f[i]);
        switch (type)
        {
            case UsbRedirPacketType.DeviceConnect:
                codec.Send(new DeviceConnectHeader((UsbSpeed)B(2), B(3), B(4), B(5), W(6), W(7), f.Length > 8 ? W(8) : null));
                break;
            case UsbRedirPacketType.DeviceDisconnect: codec.SendDeviceDisconnect(); break;
            case UsbRedirPacketType.Reset: codec.SendReset(); break;
            case UsbRedirPacketType.InterfaceInfo: codec.Send(new InterfaceInfoHeader(D(2), X(3), X(4), X(5), X(6))); break;
            case UsbRedirPacketType.EpInfo:
                codec.Send(new EpInfoHeader(X(2), X(3), X(4),
                    f.Length > 5 ? Words(X(5), 2).Select(v => (ushort)v).ToArray() : null,
                    f.Length > 6 ? Words(X(6), 4) : null));
                break;
            case UsbRedirPacketType.SetConfiguration: codec.Send(id, new SetConfigurationHeader(B(2))); break;
            case UsbRedirPacketType.GetConfiguration: codec.SendGetConfiguration(id); break;
            case UsbRedirPacketType.ConfigurationStatus: codec.Send(id, new ConfigurationStatusHeader(S(2), B(3))); break;
            case UsbRedirPacketType.SetAltSetting: codec.Send(id, new SetAltSettingHeader(B(2), B(3))); break;
            case UsbRedirPacketType.GetAltSetting: codec.Send(id, new GetAltSettingHeader(B(2))); break;
            case UsbRedirPacketType.AltSettingStatus: codec.Send(id, new AltSettingStatusHeader(S(2), B(3), B(4))); break;
            case UsbRedirPacketType.StartIsoStream: codec.Send(id, new StartIsoStreamHeader(B(2), B(3), B(4))); break;
            case UsbRedirPacketType.StopIsoStream: codec.Send(id, new StopIsoStreamHeader(B(2))); break;
            case UsbRedirPacketType.IsoStreamStatus: codec.Send(id, new IsoStreamStatusHeader(S(2), B(3))); break;
            case UsbRedirPacketType.StartInterruptReceiving: codec.Send(id, new StartInterruptReceivingHeader(B(2))); break;
            case UsbRedirPacketType.StopInterruptReceiving: codec.Send(id, new StopInterruptReceivingHeader(B(2))); break;
            case UsbRedirPacketType.InterruptReceivingStatus: codec.Send(id, new InterruptReceivingStatusHeader(S(2), B(3))); break;
            case UsbRedirPacketType.AllocBulkStreams: codec.Send(id, new AllocBulkStreamsHeader(D(2), D(3))); break;
            case UsbRedirPacketType.FreeBulkStreams: codec.Send(id, new FreeBulkStreamsHeader(D(2))); break;
            case UsbRedirPacketType.BulkStreamsStatus: codec.Send(id, new BulkStreamsStatusHeader(D(2), D(3), S(4))); break;
            case UsbRedirPacketType.CancelDataPacket: codec.SendCancelDataPacket(id); break;
            case UsbRedirPacketType.FilterReject: codec.SendFilterReject(); break;
            case UsbRedirPacketType.FilterFilter: codec.SendFilter(System.Text.Encoding.UTF8.GetString(X(2))); break;
            case UsbRedirPacketType.DeviceDisconnectAck: codec.SendDeviceDisconnectAck(); break;
            case UsbRedirPacketType.StartBulkReceiving: codec.Send(id, new StartBulkReceivingHeader(D(2), D(3), B(4), B(5))); break;
            case UsbRedirPacketType.StopBulkReceiving: codec.Send(id, new StopBulkReceivingHeader(D(2), B(3))); break;
            case UsbRedirPacketType.BulkReceivingStatus: codec.Send(id, new BulkReceivingStatusHeader(D(2), B(3), S(4))); break;
            case UsbRedirPacketType.ControlPacket:
                codec.Send(id, new ControlPacketHeader(B(2), B(3), B(4), S(5), W(6), W(7), W(8)), X(9));
                break;
            case UsbRedirPacketType.BulkPacket: codec.Send(id, new BulkPacketHeader(B(2), S(3), D(4), D(5)), X(6)); break;
            case UsbRedirPacketType.IsoPacket: codec.Send(id, new IsoPacketHeader(B(2), S(3), W(4)), X(5)); break;
            case UsbRedirPacketType.InterruptPacket: codec.Send(id, new InterruptPacketHeader(B(2), S(3), W(4)), X(5)); break;
            case UsbRedirPacketType.BufferedBulkPacket: codec.Send(id, new BufferedBulkPacketHeader(D(2), D(3), B(4), S(5)), X(6)); break;
            default: throw new ArgumentException($"no send for token {token}");
        }
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    private static string Join(string head, params object[] fields) => fields.Length == 0 ? head : $"{head}:{string.Join(':', fields)}";

    private static uint[] Words(byte[] bytes, int size)
    {
        var words = new uint[bytes.Length / size];
        for (var i = 0; i < words.Length; i++)
            words[i] = size == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * i)) : BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4 * i));
        return words;
    }
}
