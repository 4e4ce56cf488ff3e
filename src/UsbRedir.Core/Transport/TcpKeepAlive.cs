using System.Net.Sockets;

namespace UsbRedir.Transport;

/// <summary>
/// TCP keepalive timings. usbredir has no heartbeat of its own, so keepalive is the only way a
/// session notices a peer that vanished without closing (a pulled cable, a suspended laptop).
/// The default detects a dead peer in about a minute: 30 s idle, then 3 probes 10 s apart.
/// </summary>
public sealed record TcpKeepAlive(TimeSpan Idle, TimeSpan Interval, int ProbeCount)
{
    public static TcpKeepAlive Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), 3);

    /// <summary>Timings from user input; unset values keep <see cref="Default"/>'s. Checked here so a bad value fails before connecting.</summary>
    /// <exception cref="UsbRedirException">KeepAliveInvalid.</exception>
    public static TcpKeepAlive Create(TimeSpan? idle, TimeSpan? interval, int? probeCount)
    {
        var keepAlive = new TcpKeepAlive(idle ?? Default.Idle, interval ?? Default.Interval, probeCount ?? Default.ProbeCount);
        keepAlive.Validate();
        return keepAlive;
    }

    /// <exception cref="UsbRedirException">KeepAliveInvalid: a timing under 1 s or no probes.</exception>
    public void Validate()
    {
        if (Idle < TimeSpan.FromSeconds(1) || Interval < TimeSpan.FromSeconds(1) || ProbeCount < 1)
            throw new UsbRedirException("KeepAliveInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"Keepalive timings must be at least 1 s with at least 1 probe (got idle {Idle}, interval {Interval}, {ProbeCount} probes).",
                "Use whole seconds >= 1, e.g. idle 30 s, interval 10 s, 3 probes.", this);
    }

    public void ApplyTo(Socket socket)
    {
        Validate();
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)Idle.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)Interval.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, ProbeCount);
    }
}
