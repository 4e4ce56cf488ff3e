using UsbRedir.Filtering;
using UsbRedir.Security;

namespace UsbRedir.Cli.Commands;

/// <summary>`usbredir clients`: which clients may plug devices into this machine's server (authorized_clients).</summary>
internal sealed class ClientsCommand : ICliCommand
{
    public string Name => "clients";

    public string Summary => "list, allow and revoke the clients this machine's server accepts (pairing)";

    public string Usage => $"""
        usage: usbredir clients list [options]
               usbredir clients allow KEY|subject=DN [--name NAME] [--filter RULES] [options]
               usbredir clients revoke KEY|subject=DN [options]

        A server accepts a remote client only once its owner allowed it here (authorized_clients in the
        server's configuration folder, like ssh's authorized_keys). A refused client is logged by the server
        with its key and the exact command to allow it; the client's user sees its own key with
        usbredir identity.

          list                  the allowed clients: key (or subject), name, filter
          allow KEY             allow the client with this key fingerprint (SHA256:...); again to change
                                its name or filter. subject=DN allows clients a configured CA signed
                                with that subject (e.g. subject="CN=alice,O=Example"), for a filter
            --name NAME         a name to remember it by (shown in the server's log)
            --filter RULES      the devices this client may push, e.g. "0x08,-1,-1,-1,1|-1,-1,-1,-1,0"
                                (mass storage only); checked on top of the server's --filter, refused
                                devices get filter_reject
          revoke KEY            stop allowing it (its running connections stay until they end)

        options:
        {SecurityArguments.ConfigDirUsage}
        Run it as the user the server runs as (root for `sudo usbredir server`). A running server reads
        the file at each connection: no restart needed. Exit codes: 0 done, 1 not found, 2 bad arguments.
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        var a = CliArguments.Parse(args, ["config-dir", "name", "filter"], []);
        if (a.Positionals.Count == 0)
            throw new CliUsageException("missing subcommand (list, allow or revoke)");
        var store = new TrustStore(SecurityArguments.Folder(a));
        var verb = a.Positionals[0];
        if (verb != "allow" && (a.Has("name") || a.Has("filter")))
            throw new CliUsageException("--name and --filter belong to clients allow");
        switch (verb)
        {
            case "list":
                Expect(a, 1);
                var clients = store.Clients();
                SecurityArguments.PrintWarnings(clients.Warnings, console);
                if (clients.Entries.Count == 0)
                    console.Out.WriteLine($"no client is allowed yet ({clients.Path})");
                foreach (var entry in clients.Entries)
                    console.Out.WriteLine(Describe(entry));
                return Task.FromResult(ExitCode.Success);
            case "allow":
                Expect(a, 2);
                var filter = a.Value("filter") is { } rules ? UsbRedirFilter.Parse(rules) : null;
                var allowed = store.AllowClient(a.Positionals[1], a.Value("name"), filter);
                console.Out.WriteLine($"allowed: {Describe(allowed)} (in {store.Clients().Path})");
                return Task.FromResult(ExitCode.Success);
            case "revoke":
                Expect(a, 2);
                foreach (var revoked in store.RevokeClient(a.Positionals[1]))
                    console.Out.WriteLine($"revoked: {Describe(revoked)}");
                return Task.FromResult(ExitCode.Success);
            default:
                throw new CliUsageException($"unknown subcommand '{verb}' (expected list, allow or revoke)");
        }
    }

    private static void Expect(CliArguments a, int count)
    {
        if (a.Positionals.Count < count)
            throw new CliUsageException($"clients {a.Positionals[0]}: missing KEY (SHA256:... as the server's refusal printed it)");
        if (a.Positionals.Count > count)
            throw new CliUsageException($"unexpected argument '{a.Positionals[count]}'");
    }

    private static string Describe(AuthorizedClient entry) =>
        (entry.Key is { } key ? key.ToString() : $"subject={entry.Subject}") +
        (entry.Name is { } name ? $"  name: {name}" : "") +
        (entry.Filter is { } filter ? $"  filter: {UsbRedirFilter.Format(filter)}" : "");
}
