using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using UsbRedir.Devices.Software;
using UsbRedir.Security;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.Cli;
using UsbRedir.Tests.Devices;
using UsbRedir.Tests.Server;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Tests.Security;

/// <summary>
/// Our client and server with the security the plain commands get (ServerSecurity, ClientSecurity), each with its own
/// configuration folder: TLS with self-made identities, trust on first use, pairing through the allow-list, per-client
/// filters and the plaintext policy, over loopback and over this machine's own non-loopback address.
/// </summary>
public sealed class SecureByDefaultTests : IDisposable
{
    private static readonly ReconnectPolicy NoReconnect = ReconnectPolicy.Create(null, null, null, never: true);
    private readonly TempConfigFolder _serverFolder = new();
    private readonly TempConfigFolder _clientFolder = new();
    private readonly List<string> _serverLog = [];
    private readonly List<string> _clientNotes = [];

    public void Dispose()
    {
        _serverFolder.Dispose();
        _clientFolder.Dispose();
    }

    private ServerSecurity ServerSecurityFor(bool trustLoopback = true, bool insecure = false) => new(
        new ClientAuthorizer(new ClientAuthorizationOptions { Folder = _serverFolder.Folder, TrustLoopback = trustLoopback, AllowUnauthenticated = insecure }),
        tls: null, LocalIdentity.LoadOrCreate(_serverFolder.Folder, IdentityRole.Server), Note(_serverLog));

    private Action<string> Note(List<string> list) => line => { lock (list) list.Add(line); };

    private UsbRedirServer StartServer(RecordingSink sink, ServerSecurity security, IPAddress? address = null) => UsbRedirServer.Start(sink, new UsbRedirServerOptions
    {
        Address = address ?? IPAddress.Loopback,
        Port = 0,
        Tls = security.Tls,
        ClientFilter = security.FilterFor,
        LogListener = e => Note(_serverLog)(e.Message),
    });

    private ClientSecurity ClientSecurityFor(UsbRedirEndpoint server, bool allowPlaintext = false) =>
        ClientSecurity.Create(server, _clientFolder.Folder, tls: null, allowPlaintext, Note(_clientNotes));

    private static async Task<UsbRedirConnection> ConnectAsync(UsbRedir.Devices.IUsbDevice device, UsbRedirEndpoint server, ClientSecurity security)
    {
        try
        {
            return await UsbRedirConnection.ConnectAsync(device, server, security.Tls, NoReconnect);
        }
        catch (UsbRedirException e)
        {
            throw security.Explain(e);
        }
    }

    private string ServerLog { get { lock (_serverLog) return string.Join("\n", _serverLog); } }

    [Fact]
    public async Task The_first_connection_pins_the_server_over_TLS_and_says_so_and_a_changed_key_is_refused_naming_both()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var sink = new RecordingSink();
        var security = ServerSecurityFor();
        var lan = NonLoopbackAddress();
        await using var server = StartServer(sink, security, lan);
        var endpoint = new UsbRedirEndpoint(lan.ToString(), server.LocalEndPoint.Port);
        var client = ClientSecurityFor(endpoint);
        new TrustStore(_serverFolder.Folder).AllowClient(client.Identity!.Fingerprint.ToString(), "paired");

        var connection = await ConnectAsync(keyboard, endpoint, client);
        var (seen, _) = await sink.NextAttachedAsync();
        Assert.True(seen.Security.IsTls);
        Assert.Equal(client.Identity!.Fingerprint.ToString(), "SHA256:" + seen.Security.PeerIdentity!.PublicKeySha256);
        Assert.True(connection.Security!.IsTls);
        var note = Assert.Single(_clientNotes);
        Assert.Contains($"first connection to {endpoint}: trusting its key {security.Fingerprint}", note);
        Assert.Equal(ServerKeyStatus.Known, KnownServers.Load(_clientFolder.Folder).Check(endpoint, security.Fingerprint));
        Assert.Contains("(line 1: paired)", ServerLog);
        await connection.DisconnectAsync(TimeSpan.FromSeconds(5));

        // The second connection finds the key known and says nothing.
        connection = await ConnectAsync(keyboard, endpoint, ClientSecurityFor(endpoint));
        await sink.NextAttachedAsync();
        Assert.Single(_clientNotes);
        await connection.DisconnectAsync(TimeSpan.FromSeconds(5));

        // Another key at the same place: refused during the handshake, with both keys and the command that forgets the old one.
        var forged = KeyFingerprint.FromHash(new byte[32]);
        KnownServers.Load(_clientFolder.Folder).Remove(endpoint);
        KnownServers.Load(_clientFolder.Folder).Add(endpoint, forged);
        var error = await Assert.ThrowsAsync<UsbRedirException>(() => ConnectAsync(keyboard, endpoint, ClientSecurityFor(endpoint)));
        Assert.Equal("ServerKeyChanged", error.ErrorId);
        Assert.Contains(forged.ToString(), error.Message);
        Assert.Contains(security.Fingerprint.ToString(), error.Message);
        Assert.Contains($"usbredir trust remove {endpoint} --config-dir {_clientFolder.Path}", error.RecommendedAction);
        Assert.Equal(2, sink.AttachCount);

        // Following the fix: forget, connect, the new key is recorded.
        Assert.Equal(0, FilterCommandTests.Run(["trust", "remove", endpoint.ToString(), "--config-dir", _clientFolder.Path]).Exit);
        connection = await ConnectAsync(keyboard, endpoint, ClientSecurityFor(endpoint));
        await sink.NextAttachedAsync();
        Assert.Equal(ServerKeyStatus.Known, KnownServers.Load(_clientFolder.Folder).Check(endpoint, security.Fingerprint));
        await connection.DisconnectAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_unknown_client_is_refused_with_the_allow_command_then_allowed_after_it_and_its_filter_rejects_other_devices()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        using var image = new TestImage(64 * 512L);
        await using var disk = VirtualDevices.CreateDisk(image.Path);
        var sink = new RecordingSink();
        var lan = NonLoopbackAddress();
        await using var server = StartServer(sink, ServerSecurityFor(), lan);
        var endpoint = new UsbRedirEndpoint(lan.ToString(), server.LocalEndPoint.Port);
        var client = ClientSecurityFor(endpoint);
        var key = client.Identity!.Fingerprint;

        var refused = await Assert.ThrowsAsync<UsbRedirException>(() => ConnectAsync(keyboard, endpoint, client));
        Assert.Equal("ClientNotAuthorized", refused.ErrorId);
        Assert.Contains($"refused this client (key {key})", refused.Message);
        Assert.Contains($"usbredir clients allow {key}", refused.RecommendedAction);
        var allow = $"usbredir clients allow {key} --config-dir {_serverFolder.Path}";
        await Eventually.TrueAsync(() => ServerLog.Contains(allow), "the server logged the refusal with the command that allows the client");
        Assert.Contains($"Refused the client {lan} with key {key}", ServerLog);
        Assert.Equal(0, sink.AttachCount);

        // The server's owner runs what the log says, with a filter: keyboards (HID) only.
        var (exit, output, _) = FilterCommandTests.Run(["clients", "allow", key.ToString(), "--name", "test client", "--filter", "0x03,-1,-1,-1,1|-1,-1,-1,-1,0",
            "--config-dir", _serverFolder.Path]);
        Assert.Equal(0, exit);
        Assert.Contains("allowed:", output);

        var connection = await ConnectAsync(keyboard, endpoint, client);
        var (seen, device) = await sink.NextAttachedAsync();
        Assert.Equal(VirtualDevices.KeyboardProductId, ((RemoteUsbDevice)device).ProductId);
        Assert.Contains("test client", ServerLog);
        await connection.DisconnectAsync(TimeSpan.FromSeconds(5));
        await sink.NextDetachedAsync();

        // The same client's disk is refused by its own rules: filter_reject, never attached.
        var rejected = await ConnectAsync(disk, endpoint, client);
        await rejected.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Rejected, rejected.State);
        Assert.Equal(1, sink.AttachCount);
        UsbRedirServerConnection? Refusing() => server.Connections.Concat(server.EndedConnections).FirstOrDefault(c => c.DevicesRejected > 0);
        await Eventually.TrueAsync(() => Refusing() is not null, "the server refused the disk");
        var last = Refusing()!;
        await last.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ServerConnectionState.Rejected, last.State);
        Assert.Contains("this client's own rules", last.LastRejection);

        // Revoked: refused again.
        Assert.Equal(0, FilterCommandTests.Run(["clients", "revoke", key.ToString(), "--config-dir", _serverFolder.Path]).Exit);
        Assert.Equal("ClientNotAuthorized", (await Assert.ThrowsAsync<UsbRedirException>(() => ConnectAsync(keyboard, endpoint, client))).ErrorId);
    }

    /// <summary>
    /// An address of this machine that is not loopback (its LAN address): a connection to it is not loopback even from
    /// this machine, which is what the policy must treat as remote.
    /// </summary>
    internal static IPAddress NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
        ?? throw new InvalidOperationException("This test needs an IPv4 address of this machine other than loopback (any up interface).");

    [Fact]
    public async Task Loopback_servers_get_plain_usbredir_by_default_and_TLS_when_asked_trusted_on_first_use()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var sink = new RecordingSink();
        var security = ServerSecurityFor();
        await using var server = StartServer(sink, security);
        var endpoint = new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port);
        var plain = ClientSecurityFor(endpoint);
        Assert.Equal(TlsMode.Plaintext, plain.Tls.Mode);
        Assert.Null(plain.Identity); // no key is made for a link that never leaves this machine
        var connection = await ConnectAsync(keyboard, endpoint, plain);
        var (seen, _) = await sink.NextAttachedAsync();
        Assert.False(seen.Security.IsTls);
        Assert.Contains("connects over loopback (plaintext)", ServerLog);
        await connection.DisconnectAsync(TimeSpan.FromSeconds(5));
        await sink.NextDetachedAsync();

        var tls = ClientSecurity.Create(endpoint, _clientFolder.Folder, new TlsClientOptions { Mode = TlsMode.Auto }, allowPlaintext: false, Note(_clientNotes));
        connection = await ConnectAsync(keyboard, endpoint, tls);
        (seen, _) = await sink.NextAttachedAsync();
        Assert.True(seen.Security.IsTls);
        Assert.Contains("first connection to 127.0.0.1", Assert.Single(_clientNotes));
        await connection.DisconnectAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_plaintext_peer_at_a_non_loopback_address_is_refused_unless_insecure_and_loopback_plaintext_still_works()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var sink = new RecordingSink();
        var lan = NonLoopbackAddress();
        await using var server = StartServer(sink, ServerSecurityFor(), IPAddress.Any);
        var port = server.LocalEndPoint.Port;

        // usbredirect's way: plain usbredir, no TLS. From loopback: served.
        var local = await UsbRedirConnection.ConnectAsync(keyboard, new UsbRedirEndpoint("127.0.0.1", port), NoReconnect);
        var (seen, _) = await sink.NextAttachedAsync();
        Assert.False(seen.Security.IsTls);
        await local.DisconnectAsync(TimeSpan.FromSeconds(5));
        await sink.NextDetachedAsync();

        // The same to the LAN address: refused before any usbredir byte, and the log says how to allow it.
        var remote = await UsbRedirConnection.ConnectAsync(keyboard, new UsbRedirEndpoint(lan.ToString(), port), NoReconnect);
        await remote.Completion.WaitAsync(TestDeadline.Default);
        Assert.NotEqual(ConnectionState.Connected, remote.State);
        await Eventually.TrueAsync(() => ServerLog.Contains($"Refused the plaintext (unencrypted, unauthenticated) usbredir peer {lan}"), "the refusal was logged");
        Assert.Contains("plaintext peers are accepted from loopback only", ServerLog);
        Assert.Contains("--insecure", ServerLog);
        Assert.Equal(1, sink.AttachCount);
        await remote.DisconnectAsync(TimeSpan.Zero);

        // Our client over TLS at the LAN address is fine: known by its key once allowed.
        var client = ClientSecurityFor(new UsbRedirEndpoint(lan.ToString(), port));
        new TrustStore(_serverFolder.Folder).AllowClient(client.Identity!.Fingerprint.ToString());
        var secure = await ConnectAsync(keyboard, new UsbRedirEndpoint(lan.ToString(), port), client);
        (seen, _) = await sink.NextAttachedAsync();
        Assert.True(seen.Security.IsTls);
        await secure.DisconnectAsync(TimeSpan.FromSeconds(5));
        await sink.NextDetachedAsync();

        // With --insecure the plaintext peer is served from anywhere.
        await using var insecure = StartServer(sink, ServerSecurityFor(insecure: true), IPAddress.Any);
        var allowed = await UsbRedirConnection.ConnectAsync(keyboard, new UsbRedirEndpoint(lan.ToString(), insecure.LocalEndPoint.Port), NoReconnect);
        (seen, _) = await sink.NextAttachedAsync();
        Assert.False(seen.Security.IsTls);
        await allowed.DisconnectAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Our_client_refuses_a_plaintext_server_at_a_non_loopback_address_unless_insecure()
    {
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var lan = NonLoopbackAddress();
        // A plaintext usb-guest that speaks first, as QEMU's usb-redir chardev does: any bytes before ours mean plaintext.
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = Task.Run(async () =>
        {
            var peers = new List<Socket>();
            for (var i = 0; i < 2; i++)
            {
                var socket = await listener.AcceptSocketAsync();
                await socket.SendAsync(new byte[16]); // a usbredir header: hello (type 0)
                peers.Add(socket);
            }
            return peers;
        });
        var endpoint = new UsbRedirEndpoint(lan.ToString(), port);
        var error = await Assert.ThrowsAsync<UsbRedirException>(() => ConnectAsync(keyboard, endpoint, ClientSecurityFor(endpoint)));
        Assert.Equal("PlaintextServerRefused", error.ErrorId);
        Assert.Contains("--insecure", error.RecommendedAction);

        var insecure = await ConnectAsync(keyboard, endpoint, ClientSecurityFor(endpoint, allowPlaintext: true));
        Assert.False(insecure.Security?.IsTls ?? false);
        await insecure.DisconnectAsync(TimeSpan.Zero);
        foreach (var peer in await accepted.WaitAsync(TestDeadline.Default))
            peer.Dispose();
    }
}
