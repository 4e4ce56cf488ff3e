using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>Which side of the TLS handshake we are on.</summary>
public enum TlsSide
{
    /// <summary>We connected (or were accepted as the connecting side) and checked the server's certificate.</summary>
    Client,

    /// <summary>We accepted the connection and checked the client's certificate.</summary>
    Server,
}

/// <summary>
/// What a <see cref="TlsPeerValidator"/> gets to judge a peer during the handshake: its certificate and chain as built
/// against <see cref="TlsClientOptions.TrustedRoots"/> / <see cref="TlsServerOptions.TrustedRoots"/> (or the system
/// store), the errors .NET found, and the verdict UsbRedir would give on its own (<see cref="DefaultVerdict"/>).
/// </summary>
public sealed class TlsPeerValidationContext
{
    internal TlsPeerValidationContext(TlsSide side, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors,
        string? targetHost, IPEndPoint? remoteEndPoint, TlsValidationResult defaultVerdict)
    {
        Side = side;
        Certificate = certificate;
        Chain = chain;
        PolicyErrors = errors;
        TargetHost = targetHost;
        RemoteEndPoint = remoteEndPoint;
        DefaultVerdict = defaultVerdict;
        Identity = certificate is null ? null : TlsPeerIdentity.From(certificate);
    }

    /// <summary>Our side of the handshake (Client: we judge a server; Server: we judge a client).</summary>
    public TlsSide Side { get; }

    /// <summary>The peer's certificate, or null when it sent none (only possible for a client).</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>The peer's identity (subject, fingerprints), or null without a certificate.</summary>
    public TlsPeerIdentity? Identity { get; }

    /// <summary>The chain built for <see cref="Certificate"/>, with its per-element status; valid only during the call.</summary>
    public X509Chain? Chain { get; }

    /// <summary>What .NET found wrong: chain errors (unknown CA, expired...), a name mismatch, no certificate.</summary>
    public SslPolicyErrors PolicyErrors { get; }

    /// <summary>The host name we expected the server to prove (client side), or null (server side).</summary>
    public string? TargetHost { get; }

    /// <summary>The peer's address and port.</summary>
    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>True when the peer connects from (or is reached at) a loopback address of this machine.</summary>
    public bool PeerIsLoopback => RemoteEndPoint is { } ep && IPAddress.IsLoopback(ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address);

    /// <summary>
    /// UsbRedir's own verdict: accept when .NET found no error (and, on a server requiring client certificates, the client
    /// sent one); else a rejection naming the cause (expired, not yet valid, unknown CA, wrong host name, no certificate)
    /// and the fix. A validator that only adds checks returns this when its own checks pass.
    /// </summary>
    public TlsValidationResult DefaultVerdict { get; }
}

/// <summary>
/// Accept, or reject with a reason and a fix. A rejection fails the handshake; the error (client side: a
/// <see cref="UsbRedirException"/> thrown to the caller; server side: a log line) carries <see cref="ErrorId"/>,
/// <see cref="Reason"/> and <see cref="RecommendedAction"/>.
/// </summary>
public sealed record TlsValidationResult
{
    private TlsValidationResult(bool accepted, string? errorId, string? reason, string? recommendedAction, UsbRedirErrorCategory category)
    {
        Accepted = accepted;
        ErrorId = errorId;
        Reason = reason;
        RecommendedAction = recommendedAction;
        Category = category;
    }

    /// <summary>The peer is accepted.</summary>
    public static TlsValidationResult Accept { get; } = new(true, null, null, null, UsbRedirErrorCategory.PermissionDenied);

    /// <summary>The peer is refused.</summary>
    /// <param name="errorId">PascalCase id for scripts and tests, e.g. "TlsServerKeyChanged".</param>
    /// <param name="reason">What is wrong, as a sentence naming the peer ("The server's certificate expired on ...").</param>
    /// <param name="recommendedAction">How to fix it, or null.</param>
    /// <param name="category">The error category (default PermissionDenied; InvalidData for a malformed certificate).</param>
    public static TlsValidationResult Reject(string errorId, string reason, string? recommendedAction,
        UsbRedirErrorCategory category = UsbRedirErrorCategory.PermissionDenied)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorId);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new TlsValidationResult(false, errorId, reason, recommendedAction, category);
    }

    public bool Accepted { get; }

    /// <summary>Null when accepted.</summary>
    public string? ErrorId { get; }

    /// <summary>Null when accepted.</summary>
    public string? Reason { get; }

    public string? RecommendedAction { get; }

    public UsbRedirErrorCategory Category { get; }

    /// <summary>The rejection as the exception front ends show; null when accepted.</summary>
    public UsbRedirException? ToException(object? target = null, Exception? inner = null) =>
        Accepted ? null : new UsbRedirException(ErrorId!, Category, Reason!, RecommendedAction, target, inner);
}

/// <summary>
/// Judges the peer's certificate during the TLS handshake (certificate pinning, trust on first use, allow-lists). Runs on
/// the handshake's thread; must be quick and must not throw (a throwing validator rejects the peer with its message).
/// </summary>
public delegate TlsValidationResult TlsPeerValidator(TlsPeerValidationContext context);

/// <summary>
/// Decides, once the transport is established (plaintext or TLS, before any usbredir byte is exchanged), whether this
/// connection may go on: e.g. plaintext only from loopback, or only known client identities. Must not throw.
/// </summary>
public delegate TlsValidationResult ConnectionAdmission(ConnectionSecurity security);
