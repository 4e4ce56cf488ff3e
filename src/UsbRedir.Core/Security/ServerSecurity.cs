using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using UsbRedir.Filtering;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Security;

/// <summary>
/// A server's security as the plain commands get it (<c>usbredir server</c>, <c>Start-UsbRedirServer</c>, and the exporting
/// side's listen mode, <c>usbredir connect --listen</c>, <c>Connect-UsbDevice -Listen</c>, see <see cref="AdmittingEnd"/>): one port serves
/// TLS and plaintext (the first bytes decide, <see cref="TlsMode.Auto"/>), TLS with this machine's own server identity
/// (created on first start, see <see cref="LocalIdentity"/>) unless a certificate is given, and every peer, TLS or
/// plaintext, admitted by a <see cref="ClientAuthorizer"/> before it may announce a device. A TLS client's certificate is
/// not refused during the handshake (a self-signed one is how UsbRedir clients are known): the authorizer decides by its
/// key right after, and a refusal names the command that allows the client. <see cref="FilterFor"/> hands the server the
/// per-client rules of an admitted client.
/// </summary>
public sealed class ServerSecurity
{
    // The verdict for each admitted link, found again by the server when it creates the link's session.
    private readonly ConditionalWeakTable<ConnectionSecurity, ClientAuthorization> _verdicts = new();
    private readonly Action<string>? _log;
    // The TLS settings given to the constructor, for WithLog.
    private readonly TlsServerOptions? _given;

    /// <param name="authorizer">Who may connect.</param>
    /// <param name="tls">The TLS settings to extend: null for the default (Auto, with <paramref name="identity"/>'s certificate).
    /// Given ones (--tls-dir) keep their certificate, mode and trusted CA; a client their CA signed counts as
    /// <see cref="ClientCredentials.SignedByTrustedCa"/>.</param>
    /// <param name="identity">This server's own identity, when it uses it (shown at start).</param>
    /// <param name="log">Where to say why each peer was let in, and the warnings of a bad authorized_clients.</param>
    public ServerSecurity(ClientAuthorizer authorizer, TlsServerOptions? tls, LocalIdentity? identity, Action<string>? log = null)
    {
        Authorizer = authorizer ?? throw new ArgumentNullException(nameof(authorizer));
        Identity = identity;
        _log = log;
        _given = tls;
        var baseOptions = tls ?? new TlsServerOptions { Mode = TlsMode.Auto, ServerCertificate = identity?.Certificate };
        TrustedRoots = tls?.TrustedRoots;
        Tls = baseOptions with
        {
            RequireClientCertificate = false, // the authorizer decides, and names the fix
            Validator = Validate,
            Admit = Admit,
        };
        var certificate = Tls.ServerCertificate;
        Fingerprint = certificate is null ? default : KeyFingerprint.Of(certificate);
    }

    /// <summary>
    /// The default: this user's configuration folder (or <paramref name="folder"/>), the server identity there (created if
    /// missing) unless <paramref name="tls"/> brings a certificate, and the authorization options given.
    /// </summary>
    /// <param name="end">Who admits the peers: a server, or the exporting side's listen mode (usbredir connect --listen,
    /// Connect-UsbDevice -Listen), which is the TLS server towards its peer and applies the same policy; the refusals then
    /// name that end's options.</param>
    /// <exception cref="UsbRedirException">The identity cannot be read or created.</exception>
    public static ServerSecurity Create(UsbRedirConfigFolder? folder, TlsServerOptions? tls, bool allowUnauthenticated, bool trustClientsOnFirstUse,
        Action<string>? log = null, AdmittingEnd end = AdmittingEnd.Server)
    {
        folder ??= UsbRedirConfigFolder.Default;
        var identity = tls is { ServerCertificate: not null } || tls?.Mode == TlsMode.Plaintext ? null : LocalIdentity.LoadOrCreate(folder, IdentityRole.Server);
        if (tls is not null && identity is not null)
            tls = tls with { ServerCertificate = identity.Certificate };
        var authorizer = new ClientAuthorizer(new ClientAuthorizationOptions
        {
            Folder = folder,
            End = end,
            AllowUnauthenticated = allowUnauthenticated,
            TrustClientsOnFirstUse = trustClientsOnFirstUse,
        });
        return new ServerSecurity(authorizer, tls, identity, log);
    }

    public ClientAuthorizer Authorizer { get; }

    /// <summary>The same security with its log lines going to <paramref name="log"/> (one per connection that uses it).</summary>
    public ServerSecurity WithLog(Action<string>? log) => new(Authorizer, _given, Identity, log);

    /// <summary>The server's own identity when it uses one (no certificate was given), else null.</summary>
    public LocalIdentity? Identity { get; }

    /// <summary>The fingerprint of the key of the certificate the server presents (default for a plaintext-only server).</summary>
    public KeyFingerprint Fingerprint { get; }

    /// <summary>The CAs whose clients count as CA-signed (from a given tls-dir), or null.</summary>
    public X509Certificate2Collection? TrustedRoots { get; }

    /// <summary>What the server's listener gets: <c>UsbRedirServerOptions.Tls</c>.</summary>
    public TlsServerOptions Tls { get; }

    /// <summary>What a server prints at start, so that users can compare the key their client records (like ssh's host key).</summary>
    public string Describe() => Fingerprint.IsEmpty
        ? "plaintext only (no TLS)"
        : $"server key {Fingerprint}" + (Identity is { } id ? $" ({id.CertificatePath}{(id.Created ? ", created now" : "")})" : "");

    /// <summary>
    /// Who is admitted, as the commands print it at start: everyone (--insecure), or remote peers only when authorized
    /// (naming the allow-list) and plaintext ones over loopback only.
    /// </summary>
    public string DescribeAdmission()
    {
        var options = Authorizer.Options;
        var listener = options.End == AdmittingEnd.Listener;
        if (options.AllowUnauthenticated)
            return listener ? "everyone who reaches the port may have the device (--insecure)" : "everyone may plug devices in (--insecure)";
        return $"remote {(listener ? "peers" : "clients")} need authorized_clients ({options.Folder.File(AuthorizedClients.FileName)})" +
            (TrustedRoots is null ? "" : " or a certificate signed by the tls-dir's CA") +
            (options.TrustClientsOnFirstUse ? ", new ones are recorded on first use (--trust-new-clients)" : "") +
            ", plain peers loopback only";
    }

    /// <summary>
    /// The per-client rules of the client on <paramref name="security"/> (its authorized_clients entry's filter), or null:
    /// what the server adds to the client's session (<c>UsbRedirServerOptions.ClientFilter</c>).
    /// </summary>
    public IReadOnlyList<UsbRedirFilterRule>? FilterFor(ConnectionSecurity security) =>
        _verdicts.TryGetValue(security, out var verdict) ? verdict.Filter : null;

    private TlsValidationResult Validate(TlsPeerValidationContext context)
    {
        // Any certificate gets through the handshake: the authorizer judges it by its key (self-signed) or its CA right
        // after, where a refusal can say how to allow the client. A certificate that is expired or not yet valid is still
        // refused here when a CA vouches for it: its date is then part of what the CA said.
        if (context.Certificate is null || TrustedRoots is null)
            return TlsValidationResult.Accept;
        return context.DefaultVerdict.ErrorId is "TlsCertificateExpired" or "TlsCertificateNotYetValid" ? context.DefaultVerdict : TlsValidationResult.Accept;
    }

    private TlsValidationResult Admit(ConnectionSecurity security)
    {
        var remote = security.RemoteEndPoint?.Address ?? IPAddress.None;
        var identity = security.PeerIdentity;
        var key = identity is null ? default : KeyFingerprint.Parse(identity.PublicKeySha256);
        var credentials = new ClientCredentials(remote, security.IsTls, key, identity?.Subject, identity is not null && IsSignedByTrustedCa(identity.Certificate));
        var verdict = Authorizer.Authorize(credentials, _log);
        if (!verdict.Allowed)
        {
            var refusal = verdict.Refusal!;
            // The server's log shows the message only: the command that allows the client belongs in it.
            return TlsValidationResult.Reject(refusal.ErrorId, $"{refusal.Message} {refusal.RecommendedAction}", refusal.RecommendedAction, refusal.Category);
        }
        _verdicts.AddOrUpdate(security, verdict);
        _log?.Invoke($"admitted {security.RemoteEndPoint} ({security}): {verdict.Reason}");
        return TlsValidationResult.Accept;
    }

    private bool IsSignedByTrustedCa(X509Certificate2 certificate)
    {
        if (TrustedRoots is null)
            return false; // the system's CAs vouch for web sites, not for who may plug devices in here
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(TrustedRoots);
        return chain.Build(certificate);
    }
}
