using System.Net;
using UsbRedir.Controllers;
using UsbRedir.Devices;
using UsbRedir.Filtering;
using UsbRedir.Security;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Cli.Commands;

/// <summary>
/// `usbredir server`: the original tools' `vhciserver PORTS PORT`. Creates a virtual host controller, listens, and plugs
/// every device a peer pushes (usbredir connect, usbredirect --to, spice) into a free port until stopped.
/// </summary>
internal sealed class ServerCommand : ICliCommand
{
    public string Name => "server";

    public string Summary => "accept devices over the network and plug them into this machine";

    public string Usage => $"""
        usage: usbredir server [options]

        Listens for usbredir peers (usbredir connect, usbredirect --to, spice-gtk) and plugs each device
        they push into a free port of a new virtual host controller, so this machine's kernel uses it.

        options:
          --port N              TCP port to listen on (default {UsbRedirServerOptions.DefaultPort})
          --address A           address to listen on (default: every address, IPv4 and IPv6), e.g. 127.0.0.1, ::1
          --filter RULES        accept only the devices these usbredir filter rules allow, e.g.
                                "0x08,-1,-1,-1,1|-1,-1,-1,-1,0" (mass storage only); refused devices get
                                filter_reject and their connection is closed
          --tls-dir DIR         TLS with the files of DIR, QEMU's layout (usbredir tls makes a set):
                                server-cert.pem and server-key.pem; clients must present a certificate
                                signed by ca-cert.pem when it is there
          --tls {TlsSettings.ModeWords}
                                tls (the default with --tls-dir): TLS only, plain peers are refused;
                                auto: each connection's first bytes decide (TLS ClientHello or a plain
                                usbredir hello); plaintext: plain usbredir only
          --insecure            accept everyone: plain (unencrypted, unauthenticated) peers from any
                                address, and TLS clients nobody allowed. Anyone who reaches the port can
                                then plug a device into this machine
          --trust-new-clients   allow a TLS client the first time it connects, recording its key in
                                authorized_clients (trust on first use, for a pairing window; off by default)
        {SecurityArguments.ConfigDirUsage}  --ports N             ports of the controller, 1 to 31 (default 4): devices served at once
        {ControllerArguments.BackendUsage}
          --verbose             print every log line, not only plugs, warnings and errors

        Secure by default: without --tls-dir the server makes its own key and certificate on first
        start (server-cert.pem, server-key.pem in the configuration folder) and prints the key's
        fingerprint; one port serves TLS and plain usbredir. Who may plug devices in:
          - over loopback (127.0.0.0/8, ::1): every peer, plain ones too (QEMU, usbredirect, spice on
            this machine, ssh tunnels);
          - from elsewhere: TLS clients whose key is in authorized_clients (usbredir clients allow KEY;
            a refused client is logged with that exact command), or signed by ca-cert.pem of --tls-dir.
            Plain peers from elsewhere are refused unless --insecure.
        A client's entry may carry its own filter (usbredir clients allow KEY --filter RULES).
        Needs root, or membership of the group the udev rule kernel/60-usbredir-vhci.rules names.
        Runs until Ctrl+C or SIGTERM, which unplugs every device, closes every connection and removes
        the controller. Exit codes: 0 stopped by you, 1 the controller failed, 2 bad arguments,
        3 no permission.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        var a = CliArguments.Parse(args, ["port", "address", "filter", "ports", "backend", "tls-dir", "tls", "config-dir"], ["verbose", "insecure", "trust-new-clients"]);
        if (a.Positionals.Count > 0)
            throw new CliUsageException($"unexpected argument '{a.Positionals[0]}'");
        var port = a.Int("port", UsbRedirServerOptions.DefaultPort, 1, 65535);
        var address = ParseAddress(a.Value("address"));
        var filter = a.Value("filter") is { } rules ? UsbRedirFilter.Parse(rules) : null;
        var ports = a.Int("ports", 4, 1, VirtualHostController.MaxPorts);
        var backend = ControllerArguments.Backend(a);
        var verbose = a.Has("verbose");
        var given = TlsSettings.ForServer(a.Value("tls") is { } modeText ? TlsSettings.ParseMode(modeText) : null, a.Value("tls-dir"), certificate: null);
        var security = ServerSecurity.Create(SecurityArguments.Folder(a), given, a.Has("insecure"), a.Has("trust-new-clients"),
            line => console.Error.WriteLine($"usbredir: {line}"));
        var tls = security.Tls;

        var server = await UsbRedirServer.StartWithOwnControllerAsync(
            token => VirtualHostControllerFactory.Default.CreateAsync(ports, backend, token), new UsbRedirServerOptions
        {
            Address = address,
            Port = port,
            Filter = filter,
            Tls = tls,
            ClientFilter = security.FilterFor,
            LogListener = entry =>
            {
                if (verbose || entry.Level >= SessionLogLevel.Warning)
                    console.Error.WriteLine($"usbredir: {entry}");
            },
        }, sink => new PrintingSink(sink, console), cancellationToken, context);
        var controller = server.OwnedController!; // removed by the server's stop
        console.Out.WriteLine($"listening: {server.LocalEndPoint}, {controller.PortCount} ports on {controller.Name} " +
            $"(backend {controller.Backend}, bus {controller.BusNumber})" + (filter is null ? "" : $", filter {UsbRedirFilter.Format(filter)}")
            + $", {tls.Mode switch { TlsMode.Tls => "TLS only", TlsMode.Auto => "TLS or plaintext", _ => "plaintext" }}");
        console.Out.WriteLine($"security: {security.Describe()}; {security.DescribeAdmission()}");
        using var stopOrFault = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, controller.Closed);
        try
        {
            await Task.Delay(Timeout.Infinite, stopOrFault.Token);
        }
        catch (OperationCanceledException) { }
        await server.StopAsync(TimeSpan.FromSeconds(5));
        if (!cancellationToken.IsCancellationRequested)
        {
            console.Error.WriteLine($"usbredir: controller {controller.Name} stopped working: {controller.Fault?.Message ?? "removed"}");
            return ExitCode.Failure;
        }
        console.Out.WriteLine($"stopped: served {server.ConnectionsAccepted} connections; controller {controller.Name} removed");
        return ExitCode.Success;
    }

    private static IPAddress ParseAddress(string? text)
    {
        if (text is null)
            return IPAddress.IPv6Any;
        var literal = text.StartsWith('[') && text.EndsWith(']') ? text[1..^1] : text;
        return IPAddress.TryParse(literal, out var address)
            ? address
            : throw new CliUsageException($"--address wants an IP address of this machine (e.g. 127.0.0.1 or ::1), not '{text}'");
    }

    /// <summary>Prints every plug and unplug, whatever the verbosity: they are what a server operator watches.</summary>
    private sealed class PrintingSink(ControllerDeviceSink inner, CliConsole console) : IDeviceSink
    {
        public async Task AttachAsync(UsbRedirServerConnection connection, IUsbDevice device, CancellationToken cancellationToken)
        {
            await inner.AttachAsync(connection, device, cancellationToken);
            console.Out.WriteLine($"plugged: {device.Description} into port {inner.PortOf(device)}");
        }

        public async Task DetachAsync(UsbRedirServerConnection connection, IUsbDevice device)
        {
            await inner.DetachAsync(connection, device);
            console.Out.WriteLine($"unplugged: {device.Description} ({connection.BytesReceived} bytes received, {connection.BytesSent} sent)");
        }
    }
}
