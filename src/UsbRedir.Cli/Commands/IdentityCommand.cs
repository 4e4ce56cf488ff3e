using UsbRedir.Security;

namespace UsbRedir.Cli.Commands;

/// <summary>`usbredir identity`: this machine's own keys, for pairing (created when missing).</summary>
internal sealed class IdentityCommand : ICliCommand
{
    public string Name => "identity";

    public string Summary => "show this machine's own client and server keys (what peers pin and allow)";

    public string Usage => $"""
        usage: usbredir identity [--client | --server] [options]

        Prints the key fingerprint this machine presents as a client (what a server's owner allows with
        usbredir clients allow) and as a server (what clients record on their first connection), and
        where the certificates are. A missing identity is created (a new key and a self-signed
        certificate, kept 0600 in the configuration folder), as the first connect or server would.

          --client              only the client's
          --server              only the server's

        options:
        {SecurityArguments.ConfigDirUsage}
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        var a = CliArguments.Parse(args, ["config-dir"], ["client", "server"]);
        if (a.Positionals.Count > 0)
            throw new CliUsageException($"unexpected argument '{a.Positionals[0]}'");
        var store = new TrustStore(SecurityArguments.Folder(a));
        var roles = a.Has("client") == a.Has("server") ? [IdentityRole.Client, IdentityRole.Server]
            : a.Has("client") ? new[] { IdentityRole.Client } : [IdentityRole.Server];
        foreach (var role in roles)
        {
            var identity = store.Identity(role);
            console.Out.WriteLine($"{role.ToString().ToLowerInvariant()}: {identity.Fingerprint}  {identity.Certificate.Subject}  " +
                $"({identity.CertificatePath}{(identity.Created ? ", created now" : "")})");
        }
        return Task.FromResult(ExitCode.Success);
    }
}
