using System.Net;
using System.Text.RegularExpressions;
using UsbRedir.Cli;
using UsbRedir.Devices.Software;
using UsbRedir.Protocol;
using UsbRedir.Security;
using UsbRedir.Sessions;
using UsbRedir.Tests.Cli;
using UsbRedir.Tests.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Transport.Tls;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Tests.Security;

/// <summary>
/// The exporting side's listen mode (usbredir connect --listen, Connect-UsbDevice -Listen) with the server's policy
/// (ServerSecurity, AdmittingEnd.Listener): loopback peers get the device, plain ones too; a remote peer (one that reaches
/// this machine's own non-loopback address, as SecureByDefaultTests' remote clients do) only over TLS and only when
/// authorized (authorized_clients, the --tls-dir CA, --trust-new-clients) or with --insecure. The peers are usb-guests:
/// our own TLS client code (ClientSecurity, as QEMU's client chardev would connect) speaking usbredir on the codec.
/// </summary>
public sealed class ListenSecurityTests : IDisposable
{
    private readonly TempConfigFolder _exporterFolder = new();
    private readonly TempConfigFolder _peerFolder = new();
    private readonly List<string> _log = [];

    public void Dispose()
    {
        _exporterFolder.Dispose();
        _peerFolder.Dispose();
    }

    private string Log { get { lock (_log) return string.Join("\n", _log); } }

    private void Note(string line) { lock (_log) _log.Add(line); }

    /// <summary>A listening exporter as the front ends make it: the policy of ServerSecurity for a listener.</summary>
    private async Task<(UsbRedirConnection Connection, ServerSecurity Security)> ListenAsync(UsbRedir.Devices.IUsbDevice device, IPAddress address,
        TlsServerOptions? given = null, bool insecure = false, bool trustNewClients = false)
    {
        var security = ServerSecurity.Create(_exporterFolder.Folder, given, insecure, trustNewClients, Note, AdmittingEnd.Listener);
        var connection = await UsbRedirConnection.ListenAsync(new UsbRedir.Devices.Sources.FixedUsbDeviceSource(device), new IPEndPoint(address, 0), security,
            logListener: e => Note(e.Message));
        return (connection, security);
    }

    /// <summary>A usb-guest peer on a link our transport set up (plaintext or TLS): sends its hello, records the device announced.</summary>
    internal sealed class LinkGuest : IAsyncDisposable
    {
        private readonly UsbRedirCodec _codec = new(UsbRedirRole.UsbGuest, UsbRedirCapabilities.All & ~UsbRedirCapabilities.BulkStreams, "test guest");
        private readonly TaskCompletionSource<DeviceConnectHeader> _announced = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkGuest(ByteStreamConnection link)
        {
            Link = link;
            link.Start(chunk =>
            {
                lock (_codec)
                {
                    foreach (var e in _codec.Receive(chunk.Span))
                        if (e.PacketType == UsbRedirPacketType.DeviceConnect)
                            _announced.TrySetResult(e.DeviceConnect);
                    Flush();
                }
                return ValueTask.CompletedTask;
            });
            lock (_codec) Flush();
        }

        public ByteStreamConnection Link { get; }

        /// <summary>The device the exporter announced to us.</summary>
        public Task<DeviceConnectHeader> Announced => _announced.Task.WaitAsync(TestDeadline.Default);

        private void Flush()
        {
            var pending = _codec.PendingOutput;
            if (pending.Length == 0)
                return;
            Link.Outgoing.Enqueue(pending.ToArray());
            _codec.AdvanceOutput(pending.Length);
            Link.Flush();
        }

        public ValueTask DisposeAsync() => Link.DisposeAsync();
    }

    /// <summary>Connects to the exporter as a usb-guest over <paramref name="tls"/> (null: plaintext); refusals explained as our client explains them.</summary>
    internal static async Task<LinkGuest> ConnectGuestAsync(UsbRedirEndpoint at, TlsClientOptions? tls, ClientSecurity? security = null)
    {
        var socket = await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(5), CancellationToken.None);
        try
        {
            return new LinkGuest(await SecureTransport.ClientAsync(socket, at.Host, tls, CancellationToken.None));
        }
        catch (UsbRedirException e) when (security is not null)
        {
            throw security.Explain(e);
        }
    }

    private ClientSecurity PeerSecurity(UsbRedirEndpoint at) => ClientSecurity.Create(at, _peerFolder.Folder, tls: null, allowPlaintext: false);

    [Fact]
    public async Task An_unknown_remote_peer_is_refused_with_the_allow_command_on_both_sides_and_gets_the_device_once_allowed()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var lan = SecureByDefaultTests.NonLoopbackAddress();
        var (exporter, security) = await ListenAsync(keyboard, lan);
        try
        {
            Assert.NotNull(security.Identity); // no --tls-dir: this machine's own server key, made on first use
            Assert.True(security.Identity!.Created);
            Assert.True(File.Exists(_exporterFolder.Folder.File(TlsDirectory.ServerKey)));
            var at = new UsbRedirEndpoint(lan.ToString(), exporter.ListenEndPoint!.Port);
            var peer = PeerSecurity(at);
            var key = peer.Identity!.Fingerprint;

            var refused = await Assert.ThrowsAsync<UsbRedirException>(() => ConnectGuestAsync(at, peer.Tls, peer));
            Assert.Equal("ClientNotAuthorized", refused.ErrorId);
            Assert.Contains($"usbredir clients allow {key}", refused.RecommendedAction);
            var allow = $"usbredir clients allow {key} --config-dir {_exporterFolder.Path}";
            await Eventually.TrueAsync(() => Log.Contains(allow), "the exporter logged the refusal with the command that allows the peer");
            Assert.Contains($"Refused the client {lan} with key {key}", Log);
            Assert.Contains("may not have this machine's device", Log);
            Assert.Contains($"Grant-UsbRedirClient {key} -ConfigFolder {_exporterFolder.Path}", Log);
            Assert.Equal(ConnectionState.Listening, exporter.State);
            Assert.Null(exporter.Peer);

            // Allowed with rules for disks only: admitted, but the keyboard is not for it (dropped before it sees the device).
            Assert.Equal(0, FilterCommandTests.Run(["clients", "allow", key.ToString(), "--name", "disk box", "--filter", "0x08,-1,-1,-1,1|-1,-1,-1,-1,0",
                "--config-dir", _exporterFolder.Path]).Exit);
            var dropped = await Assert.ThrowsAsync<UsbRedirException>(() => ConnectGuestAsync(at, PeerSecurity(at).Tls));
            Assert.Equal("TlsRejectedByPeer", dropped.ErrorId); // closed after the handshake, before any usbredir byte
            await Eventually.TrueAsync(() => Log.Contains("its authorized_clients entry's rules do not allow UsbRedir virtual keyboard"), "the exporter refused by the entry's rules");
            Assert.Equal(0, FilterCommandTests.Run(["clients", "revoke", key.ToString(), "--config-dir", _exporterFolder.Path]).Exit);

            // The exporter's owner runs what the log says; the same peer then gets the keyboard over TLS.
            Assert.Equal(0, FilterCommandTests.Run(["clients", "allow", key.ToString(), "--name", "qemu box", "--config-dir", _exporterFolder.Path]).Exit);
            await using var guest = await ConnectGuestAsync(at, PeerSecurity(at).Tls);
            Assert.Equal(VirtualDevices.KeyboardProductId, (await guest.Announced).ProductId);
            Assert.True(guest.Link.Security.IsTls);
            Assert.Equal(security.Fingerprint.ToString(), "SHA256:" + guest.Link.Security.PeerIdentity!.PublicKeySha256);
            await Eventually.TrueAsync(() => exporter.State == ConnectionState.Connected, "the exporter serves the peer");
            Assert.True(exporter.Security!.IsTls);
            Assert.Equal(key.ToString(), "SHA256:" + exporter.Security.PeerIdentity!.PublicKeySha256);
            Assert.Contains("qemu box", Log);
        }
        finally
        {
            await exporter.DisconnectAsync(TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task A_remote_peer_signed_by_the_tls_dir_CA_gets_the_device_and_one_of_another_CA_is_refused()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var certs = TlsTestCertificates.Instance;
        var lan = SecureByDefaultTests.NonLoopbackAddress();
        var (exporter, security) = await ListenAsync(keyboard, lan, TlsSettings.ForServer(null, certs.Directory, null));
        try
        {
            Assert.Null(security.Identity); // the tls-dir's server certificate
            Assert.Equal(TlsMode.Tls, security.Tls.Mode);
            var at = new UsbRedirEndpoint(lan.ToString(), exporter.ListenEndPoint!.Port);
            var signed = certs.ClientOptions() with { TargetHost = "localhost" };

            var stranger = await Assert.ThrowsAsync<UsbRedirException>(() => ConnectGuestAsync(at, signed with { ClientCertificate = certs.OtherClient }));
            Assert.Equal("TlsRejectedByPeer", stranger.ErrorId);
            await Eventually.TrueAsync(() => Log.Contains("Refused the client") && Log.Contains("CN=stranger"), "the exporter refused the other CA's client");
            Assert.Contains("usbredir clients allow SHA256:", Log);

            await using var guest = await ConnectGuestAsync(at, signed);
            Assert.Equal(VirtualDevices.KeyboardProductId, (await guest.Announced).ProductId);
            Assert.Contains("signed by the trusted CA", Log);
            Assert.Equal("test client", exporter.Security!.PeerIdentity!.CommonName);
        }
        finally
        {
            await exporter.DisconnectAsync(TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task A_plaintext_remote_peer_is_refused_unless_insecure_and_a_loopback_plaintext_peer_gets_the_device()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var lan = SecureByDefaultTests.NonLoopbackAddress();
        var (exporter, _) = await ListenAsync(keyboard, IPAddress.Any);
        try
        {
            var port = exporter.ListenEndPoint!.Port;
            // QEMU's plain client chardev on this machine: served as before.
            await using (var local = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(new UsbRedirEndpoint("127.0.0.1", port), null, TimeSpan.FromSeconds(5), CancellationToken.None)))
            {
                Assert.Equal(VirtualDevices.KeyboardProductId, (await local.ExpectAnnouncementAsync()).ProductId);
                Assert.Contains("connects over loopback (plaintext)", Log);
            }
            await Eventually.TrueAsync(() => exporter.State == ConnectionState.Listening, "the exporter waits for the next peer");

            // The same at the LAN address: dropped before any usbredir byte, and the log names the options that allow it.
            var remote = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(new UsbRedirEndpoint(lan.ToString(), port), null, TimeSpan.FromSeconds(5), CancellationToken.None));
            await remote.Closed.WaitAsync(TestDeadline.Default);
            Assert.Null(remote.Codec.PeerVersion); // not even our hello
            await remote.DisposeAsync();
            await Eventually.TrueAsync(() => Log.Contains($"Refused the plaintext (unencrypted, unauthenticated) usbredir peer {lan}"), "the refusal was logged");
            Assert.Contains("--insecure (usbredir connect --listen) or -AllowUnauthenticated (Connect-UsbDevice -Listen)", Log);
            Assert.Equal(ConnectionState.Listening, exporter.State);
        }
        finally
        {
            await exporter.DisconnectAsync(TimeSpan.Zero);
        }

        var (insecure, _) = await ListenAsync(keyboard, lan, insecure: true);
        try
        {
            await using var remote = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(new UsbRedirEndpoint(lan.ToString(), insecure.ListenEndPoint!.Port), null, TimeSpan.FromSeconds(5), CancellationToken.None));
            Assert.Equal(VirtualDevices.KeyboardProductId, (await remote.ExpectAnnouncementAsync()).ProductId);
            Assert.Contains("unauthenticated peers are allowed (--insecure)", Log);
        }
        finally
        {
            await insecure.DisconnectAsync(TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task Trust_new_clients_records_a_remote_peer_on_first_use()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var lan = SecureByDefaultTests.NonLoopbackAddress();
        var (exporter, _) = await ListenAsync(keyboard, lan, trustNewClients: true);
        try
        {
            var at = new UsbRedirEndpoint(lan.ToString(), exporter.ListenEndPoint!.Port);
            var peer = PeerSecurity(at);
            await using var guest = await ConnectGuestAsync(at, peer.Tls, peer);
            await guest.Announced;
            Assert.Contains("first use: recorded in", Log);
            Assert.Contains(AuthorizedClients.Load(_exporterFolder.Folder).Entries, e => e.Key == peer.Identity!.Fingerprint);
        }
        finally
        {
            await exporter.DisconnectAsync(TimeSpan.Zero);
        }
    }

    private sealed class CliRun(Task<int> exit, StringWriter output, StringWriter error, CancellationTokenSource stop)
    {
        public Task<int> Exit => exit;
        public string Out => output.ToString();
        public string Err => error.ToString();
        public void Stop() => stop.Cancel();

        public static CliRun Start(params string[] args)
        {
            var output = new StringWriter { NewLine = "\n" };
            var error = new StringWriter { NewLine = "\n" };
            var stop = new CancellationTokenSource();
            var console = new CliConsole(TextWriter.Synchronized(output), TextWriter.Synchronized(error));
            return new CliRun(Task.Run(() => Program.RunAsync(args, console, stop.Token)), output, error, stop);
        }
    }

    [Fact]
    public async Task Usbredir_connect_listen_refuses_an_unknown_remote_peer_with_the_allow_command_and_serves_it_once_allowed()
    {
        var lan = SecureByDefaultTests.NonLoopbackAddress();
        var run = CliRun.Start("connect", "--keyboard", "--listen", $"{lan}:0", "--config-dir", _exporterFolder.Path);
        try
        {
            await Eventually.TrueAsync(() => run.Out.Contains("security: "), "the CLI listens");
            var port = int.Parse(Regex.Match(run.Out, $@"on {Regex.Escape(lan.ToString())}:(\d+) \(connection").Groups[1].Value);
            Assert.Contains($"security: server key SHA256:", run.Out);
            Assert.Contains($"remote peers need authorized_clients ({_exporterFolder.Folder.File(AuthorizedClients.FileName)}), plain peers loopback only", run.Out);
            var at = new UsbRedirEndpoint(lan.ToString(), port);

            // A plain peer from the LAN: refused, and the CLI says which option would allow it.
            var plain = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(5), CancellationToken.None));
            await plain.Closed.WaitAsync(TestDeadline.Default);
            await plain.DisposeAsync();
            await Eventually.TrueAsync(() => run.Err.Contains("PlaintextPeerRefused") || run.Err.Contains("Refused the plaintext"), "the CLI printed the refusal");
            Assert.Contains("--insecure (usbredir connect --listen)", run.Err);

            var peer = PeerSecurity(at);
            var key = peer.Identity!.Fingerprint;
            var refused = await Assert.ThrowsAsync<UsbRedirException>(() => ConnectGuestAsync(at, peer.Tls, peer));
            Assert.Equal("ClientNotAuthorized", refused.ErrorId);
            var allow = $"usbredir clients allow {key} --config-dir {_exporterFolder.Path}";
            await Eventually.TrueAsync(() => run.Err.Contains(allow), "the CLI printed the command that allows the peer");

            Assert.Equal(0, FilterCommandTests.Run(["clients", "allow", key.ToString(), "--config-dir", _exporterFolder.Path]).Exit);
            await using var guest = await ConnectGuestAsync(at, PeerSecurity(at).Tls);
            Assert.Equal(VirtualDevices.KeyboardProductId, (await guest.Announced).ProductId);
            await Eventually.TrueAsync(() => run.Out.Contains($"state: Connected ({lan}:"), "the CLI shows the peer");
            Assert.Matches($@"state: Connected \({Regex.Escape(lan.ToString())}:\d+, TLS 1\.[23] \(", run.Out);
            Assert.False(run.Exit.IsCompleted);
        }
        finally
        {
            run.Stop();
            await run.Exit.WaitAsync(TestDeadline.Default);
        }
    }

    [Fact]
    public async Task Usbredir_connect_listen_insecure_hands_the_device_to_a_plain_remote_peer()
    {
        var lan = SecureByDefaultTests.NonLoopbackAddress();
        var run = CliRun.Start("connect", "--keyboard", "--listen", $"{lan}:0", "--insecure", "--config-dir", _exporterFolder.Path);
        try
        {
            await Eventually.TrueAsync(() => run.Out.Contains("security: "), "the CLI listens");
            Assert.Contains("everyone who reaches the port may have the device (--insecure)", run.Out);
            var port = int.Parse(Regex.Match(run.Out, $@"on {Regex.Escape(lan.ToString())}:(\d+) \(connection").Groups[1].Value);
            await using var plain = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(new UsbRedirEndpoint(lan.ToString(), port), null, TimeSpan.FromSeconds(5), CancellationToken.None));
            Assert.Equal(VirtualDevices.KeyboardProductId, (await plain.ExpectAnnouncementAsync()).ProductId);
        }
        finally
        {
            run.Stop();
            await run.Exit.WaitAsync(TestDeadline.Default);
        }
    }
}
