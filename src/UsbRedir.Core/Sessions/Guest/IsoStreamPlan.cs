using UsbRedir.Devices;

namespace UsbRedir.Sessions;

/// <summary>
/// How the usb-guest role runs one isochronous endpoint over usbredir: the bus period of a packet, the
/// start_iso_stream parameters the far host uses for its transfers, and how much IN data is kept for late readers.
/// </summary>
/// <remarks>
/// The start parameters follow QEMU's usb-redir (hw/usb/redirect.c, usbredir_handle_iso_data): about 100 host
/// completions a second (pkts_per_urb = packets per second / 100, 1..32), 60 ms of buffering ("testing has shown that we
/// need circa 60 ms buffer": no_urbs = ceil(60 ms of packets / pkts_per_urb)), doubled for OUT because the host prefills
/// only half its buffers, at most 16. Two deliberate differences: the packet rate comes from the real period,
/// 2^(bInterval-1) (micro)frames (QEMU divides by bInterval itself, the same for the usual bInterval 1), and no_urbs is
/// at least 1 (QEMU computes 0 below 17 packets a second, which the host refuses). QEMU keeps IN packets up to twice its
/// 60 ms target before dropping; <see cref="QueueLimit"/> is that bound.
/// </remarks>
internal sealed record IsoStreamPlan(byte Endpoint, TimeSpan Period, byte PacketsPerUrb, byte UrbCount, int MaxPacketSize, int QueueLimit)
{
    /// <summary>QEMU's IN buffer target: how much data the host side keeps in flight, in time.</summary>
    private static readonly TimeSpan BufferTarget = TimeSpan.FromMilliseconds(60);

    /// <summary>The largest USB 2 isochronous packet (high bandwidth, 3 × 1024), the bound when the peer sent no max packet size.</summary>
    private const int LargestUsb2IsoPacket = 3 * 1024;

    public bool IsIn => (Endpoint & 0x80) != 0;

    /// <summary>
    /// How long past its bus time an IN transfer waits for packets that have not arrived: the host delivers a transfer's
    /// worth at a time, so one of its transfers plus QEMU's buffering target.
    /// </summary>
    public TimeSpan Slack => BufferTarget + Period * PacketsPerUrb;

    /// <summary>The bound on one stored or sent packet: the endpoint's max packet size as the peer announced it.</summary>
    public int PacketLimit => MaxPacketSize > 0 ? MaxPacketSize : LargestUsb2IsoPacket;

    public static IsoStreamPlan For(UsbSpeed speed, byte endpoint, byte interval, ushort maxPacketSize)
    {
        var period = UsbIsoServiceInterval.For(speed, interval);
        var perSecond = Math.Max(1, (int)(TimeSpan.FromSeconds(1).Ticks / period.Ticks));
        var target = perSecond * (int)BufferTarget.TotalMilliseconds / 1000;
        var perUrb = Math.Clamp(perSecond / 100, 1, 32);
        var urbs = (target + perUrb - 1) / perUrb;
        if ((endpoint & 0x80) == 0)
            urbs *= 2;
        urbs = Math.Clamp(urbs, 1, 16);
        return new IsoStreamPlan(endpoint, period, (byte)perUrb, (byte)urbs, maxPacketSize, Math.Max(2 * target, 2 * perUrb));
    }

    /// <summary>Why a transfer cannot go on this endpoint as given, or null when it can.</summary>
    public string? Refusal(int bufferLength, IReadOnlyList<UsbIsoPacket> packets)
    {
        if (packets.Count == 0)
            return "an isochronous transfer needs at least one packet";
        for (var i = 0; i < packets.Count; i++)
        {
            var p = packets[i];
            if (p.Offset < 0 || p.Length < 0 || p.Offset > bufferLength - p.Length)
                return $"packet {i} (offset {p.Offset}, length {p.Length}) lies outside the {bufferLength}-byte buffer";
            if (!IsIn && MaxPacketSize > 0 && p.Length > MaxPacketSize)
                return $"packet {i} holds {p.Length} bytes, more than the endpoint's max packet size of {MaxPacketSize}";
            if (p.Length > ushort.MaxValue)
                return $"packet {i} holds {p.Length} bytes, more than an iso_packet can carry (65535)";
        }
        return null;
    }
}
