using System.Net;
using UsbRedir.Transport;

namespace UsbRedir.Security;

/// <summary>How a client decides whether it trusts the server it reached (see <see cref="ServerTrust"/>).</summary>
public sealed record ServerTrustOptions
{
    /// <summary>Where <c>known_servers</c> is (the client's configuration folder).</summary>
    public required UsbRedirConfigFolder Folder { get; init; }

    /// <summary>
    /// Accept a plaintext usbredir peer (QEMU's default chardev, usbredirserver) at any address, not only over loopback
    /// (--insecure, -AllowUnauthenticated): the device's traffic then crosses the network unencrypted, to a peer nobody checked.
    /// </summary>
    public bool AllowPlaintext { get; init; }
}

/// <summary>What <see cref="ServerTrust.CheckKey"/> decided about a TLS server's key.</summary>
/// <param name="Status">Known (listed with this key) or Unknown (a first connection, now recorded).</param>
/// <param name="Message">What to tell the user: for a first connection, that the key was recorded and where.</param>
public sealed record ServerKeyVerdict(ServerKeyStatus Status, string Message);

/// <summary>
/// The client side of UsbRedir's security policy: trust on first use for servers, like ssh. A TLS server whose certificate
/// no configured CA or pin vouches for is checked against <c>known_servers</c>: unknown, its key is recorded and the
/// connection goes on (and the user is told so); known with this key, it goes on; known with another key, the connection
/// is refused with both fingerprints and the command that forgets the old key. A plaintext peer is accepted over loopback
/// only, unless <see cref="ServerTrustOptions.AllowPlaintext"/>. There is never a fallback from TLS to plaintext.
/// </summary>
public sealed class ServerTrust(ServerTrustOptions options)
{
    public ServerTrustOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>
    /// Checks the key of <paramref name="server"/> (as the user named it) against <c>known_servers</c>, recording it on first use.
    /// Warnings about bad lines of the file go to <paramref name="warn"/>.
    /// </summary>
    /// <exception cref="UsbRedirException">The server shows another key than the one recorded (ServerKeyChanged), or the
    /// file cannot be read or written.</exception>
    public ServerKeyVerdict CheckKey(UsbRedirEndpoint server, KeyFingerprint key, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (key.IsEmpty)
            throw new ArgumentException("The server's key fingerprint is empty.", nameof(key));
        var known = KnownServers.Load(Options.Folder);
        foreach (var warning in known.Warnings)
            warn?.Invoke(warning.ToString());
        switch (known.Check(server, key))
        {
            case ServerKeyStatus.Known:
                return new ServerKeyVerdict(ServerKeyStatus.Known, $"{KnownServers.KeyOf(server)} is known (key {key})");
            case ServerKeyStatus.Changed:
                var recorded = known.Find(server);
                throw new UsbRedirException("ServerKeyChanged", UsbRedirErrorCategory.PermissionDenied,
                    $"The server {KnownServers.KeyOf(server)} shows the key {key}, but {known.Path} records " +
                    string.Join(" and ", recorded.Select(e => $"{e.Key} (line {e.Line})")) +
                    " for it: the server got a new key, or someone is between you and it. Refused.",
                    $"Ask the server's owner which key it has (usbredir server prints it at start). If it is {key}, forget the old one: " +
                    $"{ForgetCommand(server)}   (PowerShell: {ForgetCmdlet(server)}), then connect again to record the new one.",
                    key.ToString());
            default:
                known.Add(server, key);
                return new ServerKeyVerdict(ServerKeyStatus.Unknown,
                    $"first connection to {KnownServers.KeyOf(server)}: trusting its key {key} from now on (recorded in {known.Path}); " +
                    "compare it with the fingerprint the server printed at start");
        }
    }

    /// <summary>
    /// Decides about a peer that spoke plaintext usbredir: null when it may be used (loopback, or plaintext allowed), else the
    /// refusal to throw.
    /// </summary>
    public UsbRedirException? CheckPlaintextPeer(UsbRedirEndpoint server, IPAddress remote)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(remote);
        if (Options.AllowPlaintext || LoopbackAddress.Contains(remote))
            return null;
        return new UsbRedirException("PlaintextServerRefused", UsbRedirErrorCategory.PermissionDenied,
            $"{server} ({remote}) speaks plaintext usbredir (no TLS): the device's traffic would cross the network unencrypted to a peer " +
            "nobody authenticated, so it is refused. Plaintext peers are used over loopback only.",
            "Start the server with TLS (a UsbRedir server has it by default; QEMU: tls-creds), or accept this plaintext peer with --insecure " +
            "(usbredir connect) or -AllowUnauthenticated (Connect-UsbDevice).",
            server.ToString());
    }

    /// <summary>The command that forgets the recorded key(s) of <paramref name="server"/>.</summary>
    public string ForgetCommand(UsbRedirEndpoint server) => $"usbredir trust remove {KnownServers.KeyOf(server)}" + FolderOption(" --config-dir ");

    /// <summary>The same for PowerShell.</summary>
    public string ForgetCmdlet(UsbRedirEndpoint server) => $"Remove-UsbRedirKnownServer {KnownServers.KeyOf(server)}" + FolderOption(" -ConfigFolder ");

    private string FolderOption(string option) => Options.Folder.IsDefault ? "" : option + TrustFile.Quote(Options.Folder.Path);
}
