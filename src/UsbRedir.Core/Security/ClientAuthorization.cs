using System.Net;
using UsbRedir.Filtering;

namespace UsbRedir.Security;

/// <summary>What a server knows about a peer when it decides whether the peer may plug devices in.</summary>
/// <param name="Remote">The peer's address.</param>
/// <param name="Tls">True when the peer came over TLS, false for a plaintext usbredir peer (usbredirect, spice, QEMU).</param>
/// <param name="Key">The fingerprint of the key of the certificate the peer presented (TLS), or default for none.</param>
/// <param name="Subject">That certificate's subject, or null.</param>
/// <param name="SignedByTrustedCa">True when a CA the server was configured with signed that certificate (its chain was verified).</param>
public sealed record ClientCredentials(IPAddress Remote, bool Tls, KeyFingerprint Key = default, string? Subject = null, bool SignedByTrustedCa = false)
{
    /// <summary>True when the peer came over the loopback interface (127.0.0.0/8, ::1, or IPv4-mapped 127.0.0.0/8).</summary>
    public bool IsLoopback => LoopbackAddress.Contains(Remote);
}

/// <summary>The one definition of "loopback" the plaintext and pairing policies use.</summary>
public static class LoopbackAddress
{
    /// <summary>
    /// True for 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms: a connection that never left this machine's loopback
    /// interface. A connection to one of this machine's other addresses (its LAN address) is not loopback, even from this
    /// machine: anyone on that network could have made it.
    /// </summary>
    public static bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }
}

/// <summary>Which end admits peers: what a refused peer would get, and so what a refusal says and which option it names.</summary>
public enum AdmittingEnd
{
    /// <summary>A server (usbredir server, Start-UsbRedirServer): its peers plug devices into this machine.</summary>
    Server,

    /// <summary>
    /// The exporting side's listen mode (usbredir connect --listen, Connect-UsbDevice -Listen): its peer gets this machine's
    /// device (a keyboard, a disk, a security key).
    /// </summary>
    Listener,
}

/// <summary>How a server, or a listening exporter, decides which peers it serves (see <see cref="ClientAuthorizer"/>).</summary>
public sealed record ClientAuthorizationOptions
{
    /// <summary>Who decides: the refusals name what the peer would get and the options of that end's commands.</summary>
    public AdmittingEnd End { get; init; } = AdmittingEnd.Server;

    /// <summary>Where <c>authorized_clients</c> is (the server's configuration folder).</summary>
    public required UsbRedirConfigFolder Folder { get; init; }

    /// <summary>
    /// Accept every peer: plaintext peers from any address and TLS clients nobody allowed (--insecure,
    /// -AllowUnauthenticated). Anyone who reaches the port can then plug a device into this machine.
    /// </summary>
    public bool AllowUnauthenticated { get; init; }

    /// <summary>Record an unknown TLS client in <c>authorized_clients</c> on its first connection and accept it (opt-in).</summary>
    public bool TrustClientsOnFirstUse { get; init; }

    /// <summary>
    /// Accept peers that come over loopback without pairing, plaintext ones included (the default: usbredirect, spice and
    /// QEMU on this machine keep working). False: loopback peers need the same authorization as any other.
    /// </summary>
    public bool TrustLoopback { get; init; } = true;
}

/// <summary>
/// A server's verdict on a peer: allowed (with the devices it may push, when an entry limits them) or refused (with the
/// error the log shows, which names the command that allows the peer).
/// </summary>
public sealed record ClientAuthorization(bool Allowed, string Reason, IReadOnlyList<UsbRedirFilterRule>? Filter, UsbRedirException? Refusal, AuthorizedClient? Entry)
{
    public override string ToString() => Allowed ? $"allowed: {Reason}" : $"refused: {Refusal!.Message}";
}

/// <summary>
/// The server side of UsbRedir's security policy: which peers may plug devices into this machine.
/// <list type="number">
/// <item>A TLS client listed in <c>authorized_clients</c> (by key fingerprint, or by subject when a configured CA signed it) is
/// allowed, limited to its entry's filter.</item>
/// <item>A TLS client a configured CA signed is allowed.</item>
/// <item>Loopback peers are allowed (unless <see cref="ClientAuthorizationOptions.TrustLoopback"/> is off), plaintext ones too.</item>
/// <item>With <see cref="ClientAuthorizationOptions.TrustClientsOnFirstUse"/>, an unknown TLS client with a certificate is recorded and allowed.</item>
/// <item>With <see cref="ClientAuthorizationOptions.AllowUnauthenticated"/>, everyone is allowed.</item>
/// <item>Everyone else is refused: an unknown TLS client with the exact command that allows it; a plaintext peer with the
/// option that would accept it.</item>
/// </list>
/// The file is read on every decision, so a client allowed meanwhile (usbredir clients allow) is let in at its next attempt
/// without restarting the server.
/// </summary>
public sealed class ClientAuthorizer(ClientAuthorizationOptions options)
{
    public ClientAuthorizationOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>Decides for one peer. Never throws for a bad file: its warnings go to <paramref name="warn"/>.</summary>
    public ClientAuthorization Authorize(ClientCredentials peer, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var trustedLoopback = Options.TrustLoopback && peer.IsLoopback;
        if (peer.Tls && !peer.Key.IsEmpty)
        {
            AuthorizedClients? clients;
            try
            {
                clients = AuthorizedClients.Load(Options.Folder);
            }
            catch (UsbRedirException e)
            {
                warn?.Invoke(e.Message);
                clients = null;
            }
            if (clients is not null)
            {
                foreach (var warning in clients.Warnings)
                    warn?.Invoke(warning.ToString());
                if (clients.Find(peer.Key, peer.Subject, peer.SignedByTrustedCa) is { } entry)
                    return Allow($"listed in {clients.Path} (line {entry.Line}: {entry.Describe()})", entry.Filter, entry);
            }
            if (peer.SignedByTrustedCa)
                return Allow($"its certificate ({peer.Subject}) is signed by the trusted CA", null, null);
            if (trustedLoopback)
                return Allow("it connects over loopback", null, null);
            if (Options.TrustClientsOnFirstUse && clients is not null)
            {
                var entry = new AuthorizedClient(peer.Key, null, NameFor(peer), null, 0);
                try
                {
                    clients.Add(entry);
                    return Allow($"first use: recorded in {clients.Path} (trust on first use is on)", null, entry);
                }
                catch (UsbRedirException e)
                {
                    warn?.Invoke($"could not record {peer.Key} on first use: {e.Message}");
                }
            }
            if (Options.AllowUnauthenticated)
                return Allow("unauthenticated peers are allowed (--insecure)", null, null);
            return Refuse(UnknownClient(peer));
        }
        if (trustedLoopback)
            return Allow(peer.Tls ? "it connects over loopback (TLS, no client certificate)" : "it connects over loopback (plaintext)", null, null);
        if (Options.AllowUnauthenticated)
            return Allow("unauthenticated peers are allowed (--insecure)", null, null);
        return Refuse(peer.Tls ? NoCertificate(peer) : Plaintext(peer));
    }

    /// <summary>The command, as the server's owner types it, that allows the client with <paramref name="key"/>.</summary>
    public string AllowCommand(KeyFingerprint key) => $"usbredir clients allow {key}" + (Options.Folder.IsDefault ? "" : $" --config-dir {TrustFile.Quote(Options.Folder.Path)}");

    /// <summary>The same for PowerShell.</summary>
    public string AllowCmdlet(KeyFingerprint key) => $"Grant-UsbRedirClient {key}" + (Options.Folder.IsDefault ? "" : $" -ConfigFolder {TrustFile.Quote(Options.Folder.Path)}");

    private bool Listener => Options.End == AdmittingEnd.Listener;

    /// <summary>What an admitted peer gets from this end, for the refusals.</summary>
    private string WhatItGets => Listener ? "have this machine's device" : "plug devices into this machine";

    /// <summary>The options that accept every peer, as this end's commands spell them.</summary>
    private string InsecureOptions => Listener
        ? "listen with --insecure (usbredir connect --listen) or -AllowUnauthenticated (Connect-UsbDevice -Listen)"
        : "start the server with --insecure (usbredir server) or -AllowUnauthenticated (Start-UsbRedirServer)";

    private UsbRedirException UnknownClient(ClientCredentials peer) => new("ClientNotAuthorized", UsbRedirErrorCategory.PermissionDenied,
        $"Refused the client {peer.Remote} with key {peer.Key}" + (peer.Subject is { Length: > 0 } s ? $" ({s})" : "") +
        $": it is not in authorized_clients, so it may not {WhatItGets}.",
        $"If you know this client, allow it (as the {(Listener ? "exporting side's" : "server's")} user): {AllowCommand(peer.Key)}   (PowerShell: {AllowCmdlet(peer.Key)}); it can then connect again.",
        peer.Key.ToString());

    private UsbRedirException NoCertificate(ClientCredentials peer) => new("ClientCertificateMissing", UsbRedirErrorCategory.PermissionDenied,
        $"Refused the TLS client {peer.Remote}: it presented no client certificate, so it cannot be authorized.",
        $"Connect with a client certificate (UsbRedir clients present their own; QEMU: client-cert.pem in its tls-creds-x509 dir), or {InsecureOptions} to accept anyone.",
        peer.Remote.ToString());

    private UsbRedirException Plaintext(ClientCredentials peer) => new("PlaintextPeerRefused", UsbRedirErrorCategory.PermissionDenied,
        $"Refused the plaintext (unencrypted, unauthenticated) usbredir peer {peer.Remote}: plaintext peers are accepted " +
        (Options.TrustLoopback ? "from loopback only." : "only with --insecure."),
        (Listener
            ? "Connect over TLS (QEMU: tls-creds-x509,endpoint=client on its chardev, with a certificate this side knows), or, to accept plaintext peers from anywhere, "
            : "Connect over TLS (UsbRedir clients do by default), or, to accept plaintext peers such as usbredirect, spice or QEMU from anywhere, ") +
        $"{InsecureOptions}: anyone who reaches the port can then {(Listener ? "have the device" : "plug in devices")}.",
        peer.Remote.ToString());

    private static string NameFor(ClientCredentials peer) => $"first seen from {peer.Remote} on {DateTimeOffset.Now:yyyy-MM-dd}";

    private static ClientAuthorization Allow(string reason, IReadOnlyList<UsbRedirFilterRule>? filter, AuthorizedClient? entry) => new(true, reason, filter, null, entry);

    private static ClientAuthorization Refuse(UsbRedirException refusal) => new(false, refusal.Message, null, refusal, null);
}
