using UsbRedir.Devices.Local;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Devices.Sources;
using UsbRedir.Security;
using UsbRedir.Sessions;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Cli.Commands;

/// <summary>
/// `usbredir connect`: push a device to a usbredir server or a QEMU usb-redir chardev, or (--listen) wait for such a peer
/// to connect, until stopped.
/// </summary>
internal sealed class ConnectCommand : ICliCommand
{
    public string Name => "connect";

    public string Summary => "push a device to a server (usbredir server, QEMU usb-redir), or listen for one, and keep it connected";

    public string Usage => $$$"""
        usage: usbredir connect DEVICE --server HOST:PORT [options]
               usbredir connect DEVICE --listen ADDRESS:PORT [options]
               usbredir connect ID HOST:PORT [options]

        DEVICE (one of):
        {{{DeviceArguments.LocalUsage}}}
          --disk IMAGE          a USB flash drive backed by IMAGE (raw, a multiple of 512 bytes)
            --read-only         the drive refuses writes; IMAGE is never modified
          --keyboard            a HID boot keyboard
            --keys TEXT         type TEXT once the peer has configured the keyboard ({ENTER}, {TAB}, {F5},
                                {CTRL+ALT+DEL}, ... for keys; {{} for a literal brace). Also --type.
                                --keys - types the first line of standard input, when it comes.
            --keys-delay SEC    wait SEC seconds after configuration before typing (default 1). Also --type-delay.
          --speed low|full|high
                                bus speed (default: high for disks, full for keyboards; low for keyboards only)

        options:
          --server HOST:PORT    where to connect: 127.0.0.1:4000, bob:1138, [::1]:4000
          --listen ADDRESS:PORT wait there for the peer to connect instead (usbredirect's --as): QEMU's
                                usb-redir with a client chardev, e.g.
                                  -chardev socket,id=ur,host=127.0.0.1,port=4000,server=off,reconnect=1
                                  -device usb-redir,chardev=ur
                                or libvirt's <redirdev bus='usb' type='tcp'><source mode='connect'
                                host='127.0.0.1' service='4000'><reconnect enabled='yes' timeout='1'/>
                                </source></redirdev>. One peer at a time: one that connects meanwhile
                                waits its turn; when the peer leaves, the next one gets the device.
                                0.0.0.0:4000 or [::]:4000 listen on every address; who gets the device
                                there is below (listening securely)
          --tls-dir DIR         TLS with the files of DIR, QEMU's layout (the same directory serves QEMU's
                                tls-creds-x509 and libvirt): with --server, ca-cert.pem (the CA the server's
                                certificate must chain to) and client-cert.pem/client-key.pem (presented
                                when the server asks: QEMU's verify-peer=on does); with --listen, we are the
                                TLS server: server-cert.pem/server-key.pem, and a remote peer whose
                                certificate ca-cert.pem signed is admitted. Make a set with usbredir tls.
          --tls {{{TlsSettings.ModeWords}}}
                                tls (the default with --tls-dir): TLS only; plaintext: plain usbredir only;
                                auto: plain when the peer speaks first (QEMU's plain chardev), else TLS
          --insecure            use a plain (unencrypted, unauthenticated) usbredir server at an address
                                that is not loopback (so does --tls plaintext). Without it such a server
                                is refused: plain usbredir is used over loopback only. With --listen:
                                hand the device to everyone who reaches the port, plain peers from any
                                address and TLS peers nobody allowed
          --trust-new-clients   with --listen: admit a remote TLS peer the first time it connects,
                                recording its key in authorized_clients (trust on first use; off by default)
        {{{SecurityArguments.ConfigDirUsage}}}  --no-reconnect        end when the connection drops instead of retrying with backoff (--server only)
          --reconnect-delay SEC first retry after SEC seconds, doubling each time (default 0.5)
          --max-reconnect-delay SEC
                                longest wait between retries (default 30)
          --max-reconnect-attempts N
                                give up after N retries in a row (default: never give up)
          --keepalive IDLE,INTERVAL,COUNT
                                TCP keepalive timings in seconds (default 30,10,3)
          --verbose             print every log line, not only warnings and errors

        Secure by default (--server without --tls/--tls-dir): to a loopback address plain usbredir, as
        before; elsewhere TLS unless the server speaks plain usbredir first (QEMU's plain chardev, then
        refused unless --insecure), presenting this machine's own client key (made on first use; see
        usbredir identity). The server's key is recorded on the first connection (known_servers, like
        ssh) and must match afterwards: a changed key is refused with both fingerprints and the command
        that forgets the old one (usbredir trust remove HOST:PORT). A UsbRedir server that does not
        know this client yet refuses it, and the error names the command its owner runs to allow it.

        Listening securely (--listen, the same policy as usbredir server): one port serves TLS and plain
        usbredir (the peer's first bytes decide; --tls-dir or --tls tls: TLS only). Without --tls-dir
        the TLS certificate is this machine's own server key (made on first use, as usbredir server
        makes it; usbredir identity shows it). Who gets the device:
          - over loopback (127.0.0.0/8, ::1): every peer, plain ones too (QEMU's usb-redir with a
            client chardev on this machine, plain or TLS);
          - from elsewhere: TLS peers only, and only those whose key is in authorized_clients
            (usbredir clients allow KEY; a refused peer is printed with that exact command), whose
            certificate ca-cert.pem of --tls-dir signed, or any with --trust-new-clients (recorded on
            first use). Plain peers from elsewhere, and TLS peers without a certificate, are refused
            unless --insecure. A refused peer is dropped and the next one waited for.

        Runs until Ctrl+C or SIGTERM, which disconnects the device cleanly (the peer acknowledges).
        With --listen, a peer leaving is not an end: the next one is waited for.
        Each change of state is printed as it happens: "state: Connected (PEER)", Reconnecting,
        Listening, WaitingForDevice (the device went away and is expected back), Disconnected.
        A local device (ID) that is unplugged is waited for and exported again by itself when it comes
        back: at the same busid, or, with a serial number, with the same VID:PID and serial at any port.
        Exit codes: 0 stopped by you, 1 the connection ended (rejected by the peer's filter, gave up
        reconnecting, a software device gone), 2 bad arguments.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        var a = CliArguments.Parse(args,
            [.. DeviceArguments.ValueOptions, .. DeviceArguments.TypingOptions, "server", "listen", "tls-dir", "tls", "config-dir", "keepalive", "reconnect-delay", "max-reconnect-delay", "max-reconnect-attempts"],
            [.. DeviceArguments.SwitchOptions, "no-reconnect", "verbose", "insecure", "trust-new-clients"]);
        // usbredir connect [ID [HOST:PORT]]: the original vhciclient's shape, the server also as --server.
        if (a.Positionals.Count > (a.Has("server") || a.Has("listen") ? 1 : 2))
            throw new CliUsageException($"unexpected argument '{a.Positionals[^1]}'");
        var localId = a.Positionals.Count > 0 ? a.Positionals[0] : null;
        var (server, listen) = ParsePeer(a, a.Positionals.Count > 1 ? a.Positionals[1] : null);
        var verbose = a.Has("verbose");
        var keepAlive = ParseKeepAlive(a.Value("keepalive"));
        var reconnect = server is null ? null : ParseReconnect(a);
        var tlsMode = a.Value("tls") is { } modeText ? TlsSettings.ParseMode(modeText) : (TlsMode?)null;
        var tlsClient = server is null ? null : TlsSettings.ForClient(tlsMode, a.Value("tls-dir"), certificate: null);
        var tlsServer = server is null ? TlsSettings.ForServer(tlsMode, a.Value("tls-dir"), certificate: null) : null;
        var (created, typing) = await DeviceArguments.CreateAsync(a, localId, console, cancellationToken);
        await using var device = created;
        // Checked before connecting, so a typo is an error now, not a surprise in the background.
        if (device is BootKeyboard keyboard && typing is not null)
            _ = DeviceArguments.TypeWhenConfiguredAsync(keyboard, typing, console, cancellationToken);
        void Print(SessionLogEntry entry)
        {
            if (verbose || entry.Level >= SessionLogLevel.Warning)
                console.Error.WriteLine($"usbredir: {entry}");
        }
        // A local device that goes away is waited for and exported again when it comes back; a software device is exported as it is.
        var source = DeviceArguments.SourceOf(device, a, console);
        UsbRedirConnection connection;
        if (server is not null)
        {
            var security = ClientSecurity.Create(server, SecurityArguments.Folder(a), tlsClient, a.Has("insecure") || tlsMode == TlsMode.Plaintext,
                note => console.Error.WriteLine($"usbredir: {note}"));
            try
            {
                connection = await UsbRedirConnection.ConnectAsync(source, server, security.Tls, reconnect, keepAlive, Print, cancellationToken, context);
            }
            catch (UsbRedirException e)
            {
                throw security.Explain(e);
            }
            console.Out.WriteLine($"connected: {device.Description} -> {server} (connection {connection.Id})");
        }
        else
        {
            // The server's policy (ServerSecurity): loopback peers admitted, remote ones only over TLS and only when authorized.
            var security = ServerSecurity.Create(SecurityArguments.Folder(a), tlsServer, a.Has("insecure"), a.Has("trust-new-clients"),
                line => { if (verbose) console.Error.WriteLine($"usbredir: {line}"); }, AdmittingEnd.Listener);
            connection = await UsbRedirConnection.ListenAsync(source, listen!, security, keepAlive, Print, context);
            console.Out.WriteLine($"listening: {device.Description} on {connection.ListenEndPoint} (connection {connection.Id})");
            console.Out.WriteLine($"security: {security.Describe()}; {security.DescribeAdmission()}");
        }
        // From now on every change shows: Connected (with the peer), Reconnecting, Listening, WaitingForDevice, the end.
        connection.StateChanged += (c, state) =>
            console.Out.WriteLine($"state: {state}" + (state == ConnectionState.Connected && c.Peer is { } peer
                ? $" ({peer}{(c.Security is { IsTls: true } security ? ", " + security : "")})" : ""));

        try
        {
            // A software device that went away ends the command (its connection ends with it); a local one is waited for
            // (state: WaitingForDevice) and re-exported by the connection when it comes back.
            var gone = Task.Delay(Timeout.Infinite, source is FixedUsbDeviceSource ? device.Gone : CancellationToken.None);
            if (await Task.WhenAny(connection.Completion, gone).WaitAsync(cancellationToken) == gone)
            {
                console.Error.WriteLine($"usbredir: {device.Description} went away; disconnecting");
                await connection.DisconnectAsync(TimeSpan.FromSeconds(5));
                return ExitCode.Failure;
            }
        }
        catch (OperationCanceledException)
        {
            await connection.DisconnectAsync(TimeSpan.FromSeconds(5));
            // A re-opened local device goes back to its kernel drivers as the connection ends: let that finish before exiting.
            await Task.WhenAny(connection.Completion, Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None));
            console.Out.WriteLine($"disconnected: sent {connection.BytesSent} bytes, received {connection.BytesReceived}");
            return ExitCode.Success;
        }
        console.Error.WriteLine($"usbredir: connection ended ({connection.State}): {connection.LastError ?? "closed by the peer"}");
        await connection.DisconnectAsync(TimeSpan.Zero); // takes the ended connection off the process's context
        return ExitCode.Failure;
    }

    /// <summary>
    /// --server or --listen, exactly one; the reconnect settings belong to --server (with --listen the peer reconnects),
    /// --trust-new-clients to --listen (it admits peers).
    /// </summary>
    private static (UsbRedirEndpoint? Server, System.Net.IPEndPoint? Listen) ParsePeer(CliArguments a, string? positionalServer)
    {
        if (a.Has("trust-new-clients") && !a.Has("listen"))
            throw new CliUsageException("--trust-new-clients applies to --listen only: a server's key is trusted on first use anyway (known_servers)");
        if (positionalServer is not null)
            return (UsbRedirEndpoint.Parse(positionalServer), null);
        if (a.Has("server") == a.Has("listen"))
            throw new CliUsageException(a.Has("server") ? "give --server or --listen, not both" : "missing --server HOST:PORT (or --listen ADDRESS:PORT)");
        if (a.Has("server"))
            return (UsbRedirEndpoint.Parse(a.Required("server")), null);
        if (new[] { "no-reconnect", "reconnect-delay", "max-reconnect-delay", "max-reconnect-attempts" }.FirstOrDefault(a.Has) is { } option)
            throw new CliUsageException($"--{option} applies to --server only: with --listen the peer reconnects to us");
        return (null, UsbRedirEndpoint.ParseListen(a.Required("listen")));
    }

    private static ReconnectPolicy ParseReconnect(CliArguments a) => ReconnectPolicy.Create(
        a.Has("reconnect-delay") ? TimeSpan.FromSeconds(a.Seconds("reconnect-delay", 0)) : null,
        a.Has("max-reconnect-delay") ? TimeSpan.FromSeconds(a.Seconds("max-reconnect-delay", 0)) : null,
        a.Has("max-reconnect-attempts") ? a.Int("max-reconnect-attempts", 0, 0, int.MaxValue) : null,
        never: a.Has("no-reconnect"));

    private static TcpKeepAlive ParseKeepAlive(string? text)
    {
        if (text is null)
            return TcpKeepAlive.Default;
        var parts = text.Split(',');
        if (parts.Length != 3 || !int.TryParse(parts[0], out var idle) || !int.TryParse(parts[1], out var interval) || !int.TryParse(parts[2], out var count))
            throw new CliUsageException($"--keepalive wants IDLE,INTERVAL,COUNT in seconds, e.g. 30,10,3, not '{text}'");
        return TcpKeepAlive.Create(TimeSpan.FromSeconds(idle), TimeSpan.FromSeconds(interval), count);
    }

}
