using System.Net;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Security;

/// <summary>
/// A client's security as the plain commands get it (<c>usbredir connect HOST:PORT</c>, <c>Connect-UsbDevice -Server</c>):
/// plain usbredir to a loopback address (<see cref="IsLoopbackTarget"/>); elsewhere TLS whenever the server does not speak first (<see cref="TlsMode.Auto"/>: QEMU's and usbredirect's plaintext servers send
/// their hello at once, a UsbRedir server waits for ours), with this machine's own client identity (created on first use)
/// so the server can tell it apart; the server's key trusted on first use (<see cref="ServerTrust"/>) unless a CA
/// (--tls-dir) vouches for it; a plaintext server accepted over loopback only unless <see cref="ServerTrustOptions.AllowPlaintext"/>.
/// There is never a fallback from TLS to plaintext: a TLS failure is the connection's error.
/// </summary>
public sealed class ClientSecurity
{
    private readonly Action<string>? _notify;

    /// <param name="server">The server as the user named it (the known_servers key).</param>
    /// <param name="trust">How servers are trusted.</param>
    /// <param name="tls">The TLS settings to extend: null for the default (Auto, <paramref name="identity"/>'s certificate,
    /// trust on first use). Given ones with trusted roots (--tls-dir with ca-cert.pem) are judged by their CA, not by known_servers.</param>
    /// <param name="identity">This client's own identity, when it presents it.</param>
    /// <param name="notify">Told what the user must know: a first connection's recorded key, warnings about known_servers.</param>
    public ClientSecurity(UsbRedirEndpoint server, ServerTrust trust, TlsClientOptions? tls, LocalIdentity? identity, Action<string>? notify = null)
    {
        Server = server ?? throw new ArgumentNullException(nameof(server));
        Trust = trust ?? throw new ArgumentNullException(nameof(trust));
        Identity = identity;
        _notify = notify;
        TrustOnFirstUse = tls?.TrustedRoots is null;
        var baseOptions = tls ?? new TlsClientOptions { Mode = IsLoopbackTarget(server) ? TlsMode.Plaintext : TlsMode.Auto };
        Tls = baseOptions with
        {
            ClientCertificate = baseOptions.ClientCertificate ?? identity?.Certificate,
            Validator = TrustOnFirstUse ? ValidateByKey : baseOptions.Validator,
            Admit = Admit,
        };
    }

    /// <summary>
    /// The default: this user's configuration folder (or <paramref name="folder"/>), the client identity there (created if
    /// missing) unless <paramref name="tls"/> brings a certificate.
    /// </summary>
    public static ClientSecurity Create(UsbRedirEndpoint server, UsbRedirConfigFolder? folder, TlsClientOptions? tls, bool allowPlaintext,
        Action<string>? notify = null)
    {
        folder ??= UsbRedirConfigFolder.Default;
        var plaintext = tls?.Mode == TlsMode.Plaintext || (tls is null && IsLoopbackTarget(server));
        var identity = tls is { ClientCertificate: not null } || plaintext ? null : LocalIdentity.LoadOrCreate(folder, IdentityRole.Client);
        return new ClientSecurity(server, new ServerTrust(new ServerTrustOptions { Folder = folder, AllowPlaintext = allowPlaintext }), tls, identity, notify);
    }

    public UsbRedirEndpoint Server { get; }

    /// <summary>
    /// True for a server named by a loopback address or "localhost": nothing leaves this machine, so the default there is
    /// plain usbredir, as before TLS (QEMU's and usbredirect's plain ports on this machine keep working, and a UsbRedir
    /// server takes it from loopback). The peer's real address is still checked after connecting.
    /// </summary>
    public static bool IsLoopbackTarget(UsbRedirEndpoint server) =>
        server.Address is { } address ? LoopbackAddress.Contains(address) : string.Equals(server.Host, "localhost", StringComparison.OrdinalIgnoreCase);

    public ServerTrust Trust { get; }

    /// <summary>The identity this client presents, when it is its own (no certificate was given).</summary>
    public LocalIdentity? Identity { get; }

    /// <summary>True when the server's key is checked against known_servers (no CA was given).</summary>
    public bool TrustOnFirstUse { get; }

    /// <summary>What the connection gets (<c>UsbRedirConnection.ConnectAsync(..., tls, ...)</c>).</summary>
    public TlsClientOptions Tls { get; }

    /// <summary>
    /// A connection error as this client's user should read it: a server that hung up right after the handshake refused this
    /// client's key, and its owner has a command for that. Other errors are returned as they are.
    /// </summary>
    public UsbRedirException Explain(UsbRedirException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.ErrorId != "TlsRejectedByPeer" || Identity is not { } identity)
            return error;
        return new UsbRedirException("ClientNotAuthorized", UsbRedirErrorCategory.PermissionDenied,
            $"The server {Server} refused this client (key {identity.Fingerprint}) right after the TLS handshake: it does not know this client yet, " +
            "so it will not let it plug devices in.",
            $"Ask the server's owner to allow this client (the server logged the same command): usbredir clients allow {identity.Fingerprint}   " +
            $"(PowerShell: Grant-UsbRedirClient {identity.Fingerprint}); then connect again.",
            Server, error);
    }

    private TlsValidationResult ValidateByKey(TlsPeerValidationContext context)
    {
        if (context.Identity is not { } server)
            return context.DefaultVerdict; // no certificate: refused with its own message
        try
        {
            var known = KnownServers.Load(Trust.Options.Folder);
            var key = KeyFingerprint.Parse(server.PublicKeySha256);
            if (known.Check(Server, key) == ServerKeyStatus.Changed)
                Trust.CheckKey(Server, key); // throws ServerKeyChanged with both keys and the fix
            return TlsValidationResult.Accept; // known, or recorded once the handshake proved the key (Admit)
        }
        catch (UsbRedirException e)
        {
            return TlsValidationResult.Reject(e.ErrorId, e.Message, e.RecommendedAction, e.Category);
        }
    }

    private TlsValidationResult Admit(ConnectionSecurity security)
    {
        try
        {
            if (!security.IsTls)
                return Trust.CheckPlaintextPeer(Server, security.RemoteEndPoint?.Address ?? IPAddress.None) is { } refusal
                    ? TlsValidationResult.Reject(refusal.ErrorId, refusal.Message, refusal.RecommendedAction, refusal.Category)
                    : TlsValidationResult.Accept;
            if (TrustOnFirstUse && security.PeerIdentity is { } server)
            {
                var verdict = Trust.CheckKey(Server, KeyFingerprint.Parse(server.PublicKeySha256), _notify);
                if (verdict.Status == ServerKeyStatus.Unknown)
                    _notify?.Invoke(verdict.Message);
            }
            return TlsValidationResult.Accept;
        }
        catch (UsbRedirException e)
        {
            return TlsValidationResult.Reject(e.ErrorId, e.Message, e.RecommendedAction, e.Category);
        }
    }
}
