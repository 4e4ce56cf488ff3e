using UsbRedir.Protocol;

namespace UsbRedir.Tests.Protocol;

/// <summary>
/// Seeded generator of valid usbredir packets (as <see cref="CodecText"/> tokens) for one direction and one pair of
/// capability sets, covering every type that direction allows, both endpoint directions of every data packet, the
/// conditional header sizes and 64-bit ids. Tokens carry exactly the fields the negotiated caps put on the wire.
/// </summary>
internal sealed class CodecCaseGenerator(int seed)
{
    private static readonly UsbRedirPacketType[] FromGuest =
    [
        UsbRedirPacketType.Reset, UsbRedirPacketType.SetConfiguration, UsbRedirPacketType.GetConfiguration,
        UsbRedirPacketType.SetAltSetting, UsbRedirPacketType.GetAltSetting, UsbRedirPacketType.StartIsoStream,
        UsbRedirPacketType.StopIsoStream, UsbRedirPacketType.StartInterruptReceiving, UsbRedirPacketType.StopInterruptReceiving,
        UsbRedirPacketType.AllocBulkStreams, UsbRedirPacketType.FreeBulkStreams, UsbRedirPacketType.CancelDataPacket,
        UsbRedirPacketType.FilterReject, UsbRedirPacketType.FilterFilter, UsbRedirPacketType.DeviceDisconnectAck,
        UsbRedirPacketType.StartBulkReceiving, UsbRedirPacketType.StopBulkReceiving,
        UsbRedirPacketType.ControlPacket, UsbRedirPacketType.BulkPacket, UsbRedirPacketType.IsoPacket, UsbRedirPacketType.InterruptPacket,
    ];

    private static readonly UsbRedirPacketType[] FromHost =
    [
        UsbRedirPacketType.DeviceConnect, UsbRedirPacketType.DeviceDisconnect, UsbRedirPacketType.InterfaceInfo,
        UsbRedirPacketType.EpInfo, UsbRedirPacketType.ConfigurationStatus, UsbRedirPacketType.AltSettingStatus,
        UsbRedirPacketType.IsoStreamStatus, UsbRedirPacketType.InterruptReceivingStatus, UsbRedirPacketType.BulkStreamsStatus,
        UsbRedirPacketType.FilterFilter, UsbRedirPacketType.BulkReceivingStatus,
        UsbRedirPacketType.ControlPacket, UsbRedirPacketType.BulkPacket, UsbRedirPacketType.IsoPacket, UsbRedirPacketType.InterruptPacket,
        UsbRedirPacketType.BufferedBulkPacket,
    ];

    private readonly Random _random = new(seed);

    public int Next(int max) => _random.Next(max);

    /// <summary>The caps a parser of <paramref name="role"/> really advertises for <paramref name="caps"/> (as both implementations adjust them).</summary>
    public static UsbRedirCapabilities Effective(UsbRedirRole role, UsbRedirCapabilities caps)
    {
        if (role == UsbRedirRole.UsbGuest) caps |= UsbRedirCapabilities.DeviceDisconnectAck;
        if ((caps & UsbRedirCapabilities.BulkStreams) != 0 && (caps & UsbRedirCapabilities.EpInfoMaxPacketSize) == 0)
            caps &= ~UsbRedirCapabilities.BulkStreams;
        return caps;
    }

    /// <summary>Every type <paramref name="sender"/> may send when the receiver advertises <paramref name="receiverCaps"/>.</summary>
    public static IReadOnlyList<UsbRedirPacketType> SendableTypes(UsbRedirRole sender, UsbRedirCapabilities receiverCaps) =>
        (sender == UsbRedirRole.UsbGuest ? FromGuest : FromHost).Where(t => Permitted(t, receiverCaps)).ToList();

    /// <summary>
    /// A packet <paramref name="sender"/> may send to a receiver with <paramref name="receiverCaps"/>:
    /// the token to send, and the token the receiver must decode (the id truncated without 64-bit ids).
    /// </summary>
    public (string Send, string Expect) Packet(UsbRedirPacketType type, UsbRedirRole sender, UsbRedirCapabilities negotiated, bool bigPayloadAllowed)
    {
        var toHost = sender == UsbRedirRole.UsbGuest;
        var id = HasId(type) ? Id() : 0;
        var fields = Fields(type, toHost, negotiated, bigPayloadAllowed);
        var shownId = (negotiated & UsbRedirCapabilities.Ids64Bit) != 0 ? id : id & 0xFFFF_FFFF;
        var tail = fields.Length == 0 ? "" : ":" + fields;
        return ($"{(uint)type}:{id}{tail}", $"{(uint)type}:{shownId}{tail}");
    }

    /// <summary>Chunk sizes to split a stream at: mostly tiny (every header boundary gets crossed), sometimes large.</summary>
    public int[] Chunks()
    {
        var sizes = new int[1 + _random.Next(8)];
        for (var i = 0; i < sizes.Length; i++)
            sizes[i] = _random.Next(4) switch { 0 => 1, 1 => 1 + _random.Next(16), 2 => 1 + _random.Next(300), _ => 1 + _random.Next(70000) };
        return sizes;
    }

    private static bool Permitted(UsbRedirPacketType type, UsbRedirCapabilities receiver) => type switch
    {
        UsbRedirPacketType.FilterReject or UsbRedirPacketType.FilterFilter => (receiver & UsbRedirCapabilities.Filter) != 0,
        UsbRedirPacketType.DeviceDisconnectAck => (receiver & UsbRedirCapabilities.DeviceDisconnectAck) != 0,
        UsbRedirPacketType.StartBulkReceiving or UsbRedirPacketType.StopBulkReceiving or UsbRedirPacketType.BulkReceivingStatus
            or UsbRedirPacketType.BufferedBulkPacket => (receiver & UsbRedirCapabilities.BulkReceiving) != 0,
        _ => true,
    };

    private static bool HasId(UsbRedirPacketType type) => type is not (UsbRedirPacketType.DeviceConnect or UsbRedirPacketType.DeviceDisconnect
        or UsbRedirPacketType.Reset or UsbRedirPacketType.InterfaceInfo or UsbRedirPacketType.EpInfo or UsbRedirPacketType.FilterReject
        or UsbRedirPacketType.FilterFilter or UsbRedirPacketType.DeviceDisconnectAck);

    private ulong Id() => _random.Next(4) switch
    {
        0 => (ulong)_random.Next(256),
        1 => (ulong)(uint)_random.Next() << 1,
        _ => (ulong)_random.NextInt64() << _random.Next(2),
    };

    private string Fields(UsbRedirPacketType type, bool toHost, UsbRedirCapabilities negotiated, bool big)
    {
        bool Has(UsbRedirCapabilities c) => (negotiated & c) != 0;
        switch (type)
        {
            case UsbRedirPacketType.DeviceConnect:
            {
                var s = J(Byte(), Byte(), Byte(), Byte(), Word(), Word());
                return Has(UsbRedirCapabilities.ConnectDeviceVersion) ? $"{s}:{Word()}" : s;
            }
            case UsbRedirPacketType.InterfaceInfo: return J(_random.Next(33), Hex(32), Hex(32), Hex(32), Hex(32));
            case UsbRedirPacketType.EpInfo:
            {
                var s = J(Hex(32), Hex(32), Hex(32));
                if (Has(UsbRedirCapabilities.EpInfoMaxPacketSize)) s += ":" + Hex(64);
                if (Has(UsbRedirCapabilities.BulkStreams)) s += ":" + Hex(128);
                return s;
            }
            case UsbRedirPacketType.SetConfiguration or UsbRedirPacketType.GetAltSetting or UsbRedirPacketType.StopIsoStream:
                return J(Byte());
            case UsbRedirPacketType.ConfigurationStatus or UsbRedirPacketType.SetAltSetting or UsbRedirPacketType.IsoStreamStatus:
                return J(Byte(), Byte());
            case UsbRedirPacketType.AltSettingStatus or UsbRedirPacketType.StartIsoStream: return J(Byte(), Byte(), Byte());
            case UsbRedirPacketType.StartInterruptReceiving or UsbRedirPacketType.StopInterruptReceiving: return J(InEp());
            case UsbRedirPacketType.InterruptReceivingStatus: return J(Byte(), InEp());
            case UsbRedirPacketType.AllocBulkStreams: return J(Dword(), Dword());
            case UsbRedirPacketType.FreeBulkStreams: return J(Dword());
            case UsbRedirPacketType.BulkStreamsStatus: return J(Dword(), Dword(), Byte());
            case UsbRedirPacketType.FilterFilter: return CodecText.Hex(System.Text.Encoding.ASCII.GetBytes(FilterString()));
            case UsbRedirPacketType.StartBulkReceiving:
                return J(Dword(), (uint)_random.NextInt64(UsbRedirLimits.MaxBulkTransferSize + 1), InEp(), Byte());
            case UsbRedirPacketType.StopBulkReceiving: return J(Dword(), InEp());
            case UsbRedirPacketType.BulkReceivingStatus: return J(Dword(), InEp(), Byte());
            case UsbRedirPacketType.ControlPacket:
            {
                var isIn = _random.Next(2) == 0;
                var (length, data) = DataFor(isIn, toHost, 0xFFFF, small: true);
                return J(isIn ? 0x80 : 0x00, Byte(), (isIn ? 0x80 : 0) | _random.Next(0x80), Byte(), Word(), Word(), length, data);
            }
            case UsbRedirPacketType.BulkPacket:
            {
                var isIn = _random.Next(2) == 0;
                var max = Has(UsbRedirCapabilities.BulkLength32Bit) ? UsbRedirLimits.MaxBulkTransferSize : 0xFFFF;
                var (length, data) = DataFor(isIn, toHost, max, small: !big);
                return J(Ep(isIn), Byte(), length, Dword(), data);
            }
            case UsbRedirPacketType.IsoPacket:
            {
                // Iso data always travels with the data: OUT from the guest, IN from the host.
                var (length, data) = DataFor(!toHost, toHost, 0xFFFF, small: true);
                return J(Ep(!toHost), Byte(), length, data);
            }
            case UsbRedirPacketType.InterruptPacket:
            {
                // The guest never sends interrupt IN; the host sends IN data and OUT completions.
                var isIn = !toHost && _random.Next(2) == 0;
                var (length, data) = DataFor(isIn, toHost, 0xFFFF, small: true);
                return J(Ep(isIn), Byte(), length, data);
            }
            case UsbRedirPacketType.BufferedBulkPacket:
            {
                var (length, data) = DataFor(true, toHost, UsbRedirLimits.MaxBulkTransferSize, small: !big);
                return J(Dword(), length, InEp(), Byte(), data);
            }
            default: // types without a type header
                return "";
        }
    }

    /// <summary>The header length and payload of a data packet: data travels guest→host for OUT, host→guest for IN.</summary>
    private (uint Length, string Data) DataFor(bool isIn, bool toHost, uint max, bool small)
    {
        var carriesData = isIn ? !toHost : toHost;
        if (!carriesData)
        {
            // A request (IN) or a completion (OUT): any length up to the field's maximum, no bytes.
            var requested = _random.Next(3) == 0 ? (uint)_random.NextInt64(max + 1L) : (uint)_random.Next((int)Math.Min(max, 4096) + 1);
            return (requested, "");
        }
        var size = small ? _random.Next(_random.Next(8) == 0 ? (int)Math.Min(max, 3000) + 1 : 65) : 65536 + _random.Next(200_000);
        size = (int)Math.Min(size, max);
        return ((uint)size, Hex(size));
    }

    private string FilterString()
    {
        var rules = Enumerable.Range(0, 1 + _random.Next(3)).Select(_ =>
            $"{Opt("0x{0:x2}", 256)},{Opt("0x{0:x4}", 65536)},{Opt("0x{0:x4}", 65536)},{Opt("0x{0:x4}", 65536)},{_random.Next(2)}");
        return string.Join("|", rules);
    }

    private string Opt(string format, int range) => _random.Next(3) == 0 ? "-1" : string.Format(format, _random.Next(range));

    private int Byte() => _random.Next(256);
    private int Word() => _random.Next(65536);
    private uint Dword() => (uint)_random.NextInt64(1L << 32);
    private int InEp() => 0x80 | _random.Next(16);
    private int Ep(bool isIn) => (isIn ? 0x80 : 0) | _random.Next(16);

    private string Hex(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return CodecText.Hex(bytes);
    }

    private static string J(params object[] fields) => string.Join(':', fields);
}
