using System.Net;
using System.Security.Authentication;

namespace UsbRedir.Transport.Tls;

/// <summary>
/// How a connection is protected, and where the peer is: the outcome of <see cref="TlsMode"/> for one connection, shown
/// by the connection objects (<c>Security</c>) and handed to <see cref="ConnectionAdmission"/> policies.
/// </summary>
public sealed record ConnectionSecurity
{
    /// <summary>True when the link runs over TLS; false for plain usbredir.</summary>
    public required bool IsTls { get; init; }

    /// <summary>Our side of the TLS handshake (meaningless for plaintext).</summary>
    public TlsSide Side { get; init; }

    /// <summary>How the outcome was decided: the mode asked for (Auto means the first bytes decided).</summary>
    public TlsMode Mode { get; init; }

    /// <summary>The negotiated protocol (Tls12 or Tls13), or None for plaintext.</summary>
    public SslProtocols Protocol { get; init; }

    /// <summary>The negotiated cipher suite name, or null for plaintext.</summary>
    public string? CipherSuite { get; init; }

    /// <summary>The peer's certificate identity, or null (plaintext, or a client that presented none).</summary>
    public TlsPeerIdentity? PeerIdentity { get; init; }

    /// <summary>The peer's address and port, when known.</summary>
    public IPEndPoint? RemoteEndPoint { get; init; }

    /// <summary>True when the peer is on this machine (a loopback address, IPv4-mapped ones included).</summary>
    public bool PeerIsLoopback => RemoteEndPoint is { } ep && IPAddress.IsLoopback(ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address);

    /// <summary>The security of a plaintext link.</summary>
    public static ConnectionSecurity Plaintext(IPEndPoint? remote, TlsMode mode) => new() { IsTls = false, RemoteEndPoint = remote, Mode = mode };

    /// <summary>"plaintext" or "TLS 1.3 (CN=bob, key SHA256:...)": for lists and log lines.</summary>
    public override string ToString()
    {
        if (!IsTls)
            return "plaintext";
        var version = Protocol switch
        {
            SslProtocols.Tls13 => "TLS 1.3",
            SslProtocols.Tls12 => "TLS 1.2",
            _ => "TLS",
        };
        return PeerIdentity is { } id ? $"{version} ({id})" : version;
    }
}
