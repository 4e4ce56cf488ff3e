using UsbRedir.Filtering;
using UsbRedir.Transport;

namespace UsbRedir.Security;

/// <summary>
/// The one engine behind <c>usbredir clients|trust|identity</c> and the cmdlets Get-/Grant-/Revoke-UsbRedirClient,
/// Get-/Remove-UsbRedirKnownServer and Get-UsbRedirIdentity: the front ends parse their arguments and print, every rule
/// (what names a client, what a missing entry is) lives here.
/// </summary>
public sealed class TrustStore(UsbRedirConfigFolder folder)
{
    public UsbRedirConfigFolder Folder { get; } = folder ?? throw new ArgumentNullException(nameof(folder));

    /// <summary>The clients this machine's server allows.</summary>
    public AuthorizedClients Clients() => AuthorizedClients.Load(Folder);

    /// <summary>
    /// Allows a client named by <paramref name="identity"/>: its key fingerprint (as the refusal printed it), or
    /// <c>subject=DN</c> / a DN such as <c>CN=alice,O=Example</c> for clients a configured CA signs. A client already allowed
    /// gets the new name and filter.
    /// </summary>
    /// <exception cref="UsbRedirException">The identity is neither (ClientIdentityInvalid), the filter is invalid, or the file cannot be written.</exception>
    public AuthorizedClient AllowClient(string identity, string? name = null, IReadOnlyList<UsbRedirFilterRule>? filter = null)
    {
        var (key, subject) = ParseClient(identity);
        if (filter is not null && UsbRedirFilter.Verify(filter) is { } invalid)
            throw invalid.ToException();
        var entry = new AuthorizedClient(key, subject, string.IsNullOrWhiteSpace(name) ? null : name.Trim(), filter, 0);
        var now = Clients().Add(entry);
        return now.Entries.Last(e => e.Key == key && e.Subject == subject);
    }

    /// <summary>Stops allowing the client named by <paramref name="identity"/>; returns the entries removed.</summary>
    /// <exception cref="UsbRedirException">No entry names it (ClientNotFound), or the identity is invalid.</exception>
    public IReadOnlyList<AuthorizedClient> RevokeClient(string identity)
    {
        var (key, subject) = ParseClient(identity);
        var clients = Clients();
        var matching = clients.Entries.Where(e => key is { } k ? e.Key == k : e.Subject is { } s && string.Equals(s, subject, StringComparison.OrdinalIgnoreCase)).ToArray();
        if (matching.Length == 0)
            throw new UsbRedirException("ClientNotFound", UsbRedirErrorCategory.ObjectNotFound,
                $"No client {identity} is allowed in {clients.Path}.",
                "List the allowed clients with usbredir clients list (Get-UsbRedirClient) and give one of their keys.", identity);
        clients.Remove(key, subject);
        return matching;
    }

    /// <summary>The servers this machine's client trusts.</summary>
    public KnownServers Servers() => KnownServers.Load(Folder);

    /// <summary>Trusts <paramref name="server"/> with <paramref name="key"/> beforehand (its owner told you the fingerprint), so the first connection is not a leap of faith.</summary>
    public KnownServer TrustServer(UsbRedirEndpoint server, KeyFingerprint key) =>
        Servers().Add(server, key).Find(server).Last(e => e.Key == key);

    /// <summary>Forgets every key recorded for <paramref name="server"/>; returns the entries removed.</summary>
    /// <exception cref="UsbRedirException">None is recorded (KnownServerNotFound), or the file cannot be written.</exception>
    public IReadOnlyList<KnownServer> ForgetServer(UsbRedirEndpoint server)
    {
        var servers = Servers();
        var found = servers.Find(server);
        if (found.Count == 0)
            throw new UsbRedirException("KnownServerNotFound", UsbRedirErrorCategory.ObjectNotFound,
                $"No key is recorded for {KnownServers.KeyOf(server)} in {servers.Path}.",
                "List the known servers with usbredir trust list (Get-UsbRedirKnownServer); write the server as it was connected to (HOST:PORT).", server);
        servers.Remove(server);
        return found;
    }

    /// <summary>This machine's own identity for <paramref name="role"/>, created if it does not exist yet.</summary>
    public LocalIdentity Identity(IdentityRole role) => LocalIdentity.LoadOrCreate(Folder, role);

    /// <summary>A key fingerprint, or a subject (<c>subject=DN</c>, or a DN with '=').</summary>
    /// <exception cref="UsbRedirException">Neither (ClientIdentityInvalid).</exception>
    public static (KeyFingerprint? Key, string? Subject) ParseClient(string identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (KeyFingerprint.TryParse(identity, out var key))
            return (key, null);
        var dn = identity.StartsWith("subject=", StringComparison.OrdinalIgnoreCase) ? identity["subject=".Length..] : identity;
        if (dn.Contains('=') && AuthorizedClients.NormalizeSubject(dn) is { } subject)
            return (null, subject);
        throw new UsbRedirException("ClientIdentityInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"'{identity}' names no client: it is neither a key fingerprint nor a certificate subject.",
            "Give the key as the server's refusal printed it (SHA256: and 64 hex digits), or subject=\"CN=name,O=org\" for a client a configured CA signed.",
            identity);
    }
}
