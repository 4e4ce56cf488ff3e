using System.Net;
using UsbRedir.Filtering;
using UsbRedir.Sessions;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Server;

/// <summary>How a <see cref="UsbRedirServer"/> listens and which devices it takes.</summary>
public sealed record UsbRedirServerOptions
{
    /// <summary>usbredirserver's and the original vhciserver's customary port.</summary>
    public const int DefaultPort = 1138;

    /// <summary>Where to listen. The default, IPv6Any, listens on every address, IPv4 and IPv6 (dual-stack).</summary>
    public IPAddress Address { get; init; } = IPAddress.IPv6Any;

    /// <summary>TCP port; 0 picks a free one (see <see cref="UsbRedirServer.LocalEndPoint"/>).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Which devices to accept (usbredirfilter rules), or null for all. Refused devices get filter_reject and their connection is closed.</summary>
    public IReadOnlyList<UsbRedirFilterRule>? Filter { get; init; }

    public UsbRedirFilterCheckFlags FilterFlags { get; init; }

    /// <summary>Keepalive applied to every accepted connection (null: off).</summary>
    public TcpKeepAlive? KeepAlive { get; init; } = TcpKeepAlive.Default;

    /// <summary>
    /// TLS for accepted connections: null (the default) serves plain usbredir only, as usbredirserver does; else its
    /// <see cref="TlsEndOptions.Mode"/> says TLS only or either (decided by each connection's first bytes), with the
    /// server's certificate and how clients are checked. Handshakes count towards <see cref="MaxConnections"/>.
    /// </summary>
    public TlsServerOptions? Tls { get; init; }

    /// <summary>
    /// Per-client device policy: the extra filter rules for the client on an admitted link (from its security: who it is),
    /// or null for none. A device must pass <see cref="Filter"/> and these; refused ones get filter_reject before anything
    /// reaches the sink. <see cref="Security.ServerSecurity.FilterFor"/> gives each client its authorized_clients rules.
    /// </summary>
    public Func<ConnectionSecurity, IReadOnlyList<UsbRedirFilterRule>?>? ClientFilter { get; init; }

    /// <summary>Connections served at once; more are refused (closed at once, logged).</summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>How long requests to a peer may go unanswered (see <see cref="UsbRedirGuestOptions.RequestTimeout"/>).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Receives every log line of the server and its connections as it happens (on protocol threads; keep it quick).</summary>
    public Action<SessionLogEntry>? LogListener { get; init; }

    internal UsbRedirGuestOptions GuestOptions => new()
    {
        Filter = Filter,
        FilterFlags = FilterFlags,
        RequestTimeout = RequestTimeout,
        CloseAfterReject = true,
    };

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Address);
        if (Port is < 0 or > 65535)
            throw new UsbRedirException("ServerPortInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"Port {Port} is not a TCP port.", "Give a port from 1 to 65535 (1138 is customary), or 0 for any free port.", Port);
        if (MaxConnections < 1)
            throw new UsbRedirException("ServerMaxConnectionsInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"MaxConnections must be at least 1, not {MaxConnections}.", null, MaxConnections);
        if (Filter is not null && UsbRedirFilter.Verify(Filter) is { } error)
            throw error.ToException();
        Tls?.Validate();
        GuestOptions.Validate();
    }
}
