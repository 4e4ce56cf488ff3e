using UsbRedir.Security;
using UsbRedir.Transport;

namespace UsbRedir.Cli.Commands;

/// <summary>`usbredir trust`: the servers this machine's client trusts (known_servers, trust on first use).</summary>
internal sealed class TrustCommand : ICliCommand
{
    public string Name => "trust";

    public string Summary => "list, add and remove the servers this machine trusts (known_servers)";

    public string Usage => $"""
        usage: usbredir trust list [options]
               usbredir trust add HOST:PORT KEY [options]
               usbredir trust remove HOST:PORT [options]

        The first connection to a UsbRedir server records its key in known_servers (like ssh's
        known_hosts) and says so; later connections must find the same key, or they are refused with
        both fingerprints. The server prints its key when it starts: compare them.

          list                  the trusted servers and their keys
          add HOST:PORT KEY     trust the server with this key (SHA256:...) before the first connection
          remove HOST:PORT      forget its key(s), e.g. after its owner confirmed it has a new one; the
                                next connection records the key it then shows

        HOST:PORT as you connect to it (bob:1138 and 192.0.2.7:1138 are different entries).

        options:
        {SecurityArguments.ConfigDirUsage}
        Exit codes: 0 done, 1 not found, 2 bad arguments.
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        var a = CliArguments.Parse(args, ["config-dir"], []);
        if (a.Positionals.Count == 0)
            throw new CliUsageException("missing subcommand (list, add or remove)");
        var store = new TrustStore(SecurityArguments.Folder(a));
        var verb = a.Positionals[0];
        int expected = verb switch { "list" => 1, "add" => 3, "remove" => 2, _ => throw new CliUsageException($"unknown subcommand '{verb}' (expected list, add or remove)") };
        if (a.Positionals.Count < expected)
            throw new CliUsageException(verb == "add" ? "trust add: give HOST:PORT and the key (SHA256:...)" : "trust remove: give HOST:PORT");
        if (a.Positionals.Count > expected)
            throw new CliUsageException($"unexpected argument '{a.Positionals[expected]}'");
        switch (verb)
        {
            case "list":
                var servers = store.Servers();
                SecurityArguments.PrintWarnings(servers.Warnings, console);
                if (servers.Entries.Count == 0)
                    console.Out.WriteLine($"no server is known yet ({servers.Path})");
                foreach (var entry in servers.Entries)
                    console.Out.WriteLine($"{entry.Server} {entry.Key}");
                break;
            case "add":
                var added = store.TrustServer(UsbRedirEndpoint.Parse(a.Positionals[1]), KeyFingerprint.Parse(a.Positionals[2]));
                console.Out.WriteLine($"trusted: {added.Server} {added.Key}");
                break;
            default:
                foreach (var removed in store.ForgetServer(UsbRedirEndpoint.Parse(a.Positionals[1])))
                    console.Out.WriteLine($"removed: {removed.Server} {removed.Key}");
                break;
        }
        return Task.FromResult(ExitCode.Success);
    }
}
