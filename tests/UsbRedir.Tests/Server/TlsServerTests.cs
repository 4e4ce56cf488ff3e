using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UsbRedir.Devices.Software;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.Devices;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Transport.Tls;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Tests.Server;

/// <summary>The server and the client connection over TLS (and on a port serving both): devices cross, both ends show who the peer is, hostile TLS peers are dropped.</summary>
public class TlsServerTests
{
    private static TlsTestCertificates Certs => TlsTestCertificates.Instance;

    private static UsbRedirServer StartServer(RecordingSink sink, TlsServerOptions tls) => UsbRedirServer.Start(sink, new UsbRedirServerOptions
    {
        Address = IPAddress.Loopback,
        Port = 0,
        Tls = tls,
    });

    [Fact]
    public async Task A_disk_pushed_over_mutual_tls_is_attached_and_both_ends_name_the_peer()
    {
        using var image = new TestImage(2048 * 512L, seed: 5);
        await using var disk = VirtualDevices.CreateDisk(image.Path);
        var sink = new RecordingSink();
        await using var server = StartServer(sink, Certs.ServerOptions(TlsMode.Auto));
        var client = await UsbRedirConnection.ConnectAsync(disk, new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port), Certs.ClientOptions());
        try
        {
            var (connection, device) = await sink.NextAttachedAsync();
            var host = new UsbHostDriver(device);
            await host.EnumerateAsync();
            var read = await new BotHost(host).RunAsync(Cdb.Read10(100, 64), 64 * 512, dataIn: true, chunk: 32768);
            Assert.Equal(image.Contents.AsSpan(100 * 512, 64 * 512).ToArray(), read.Data);

            Assert.True(connection.Security.IsTls);
            Assert.Equal("test client", connection.Security.PeerIdentity!.CommonName);
            Assert.Equal(Convert.ToHexString(SHA256.HashData(Certs.Client.RawData)), connection.Security.PeerIdentity.CertificateSha256);
            Assert.Contains(connection.Log.Entries, e => e.Message.Contains("over TLS 1.3", StringComparison.Ordinal));
            Assert.True(client.Security!.IsTls);
            Assert.Equal("test server", client.Security.PeerIdentity!.CommonName);
        }
        finally
        {
            await client.DisconnectAsync(TimeSpan.FromSeconds(2));
        }

        // The same port serves a plaintext client (Auto).
        await using var second = VirtualDevices.CreateKeyboard();
        var plain = await UsbRedirConnection.ConnectAsync(second, new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port), tls: null);
        try
        {
            var (connection, _) = await sink.NextAttachedAsync();
            Assert.False(connection.Security.IsTls);
            Assert.True(connection.Security.PeerIsLoopback);
        }
        finally
        {
            await plain.DisconnectAsync(TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public async Task A_tls_only_server_logs_why_it_refused_a_plaintext_client_and_the_client_learns_it()
    {
        await using var disk = VirtualDevices.CreateKeyboard();
        var sink = new RecordingSink();
        await using var server = StartServer(sink, Certs.ServerOptions());
        var endpoint = new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port);
        var client = await UsbRedirConnection.ConnectAsync(disk, endpoint, tls: null, ReconnectPolicy.Never);
        await Eventually.TrueAsync(() => server.Log.Entries.Any(e => e.Message.Contains("speaks plaintext usbredir", StringComparison.Ordinal)), "the server logged the refusal");
        await client.Completion.WaitAsync(TestDeadline.Default);
        await client.DisconnectAsync(TimeSpan.Zero);
        Assert.Empty(server.Connections);

        // A TLS client without a certificate: refused by the server's check, and told so.
        var refused = await Assert.ThrowsAsync<UsbRedirException>(() =>
            UsbRedirConnection.ConnectAsync(disk, endpoint, Certs.ClientOptions() with { ClientCertificate = null }, ReconnectPolicy.Never));
        Assert.Contains(refused.ErrorId, new[] { "TlsRejectedByPeer", "TlsHandshakeFailed" });
        await Eventually.TrueAsync(() => server.Log.Entries.Any(e => e.Message.Contains("presented no client certificate", StringComparison.Ordinal)), "the server logged the missing certificate");
    }

    [Fact]
    public async Task Hostile_tls_clients_cost_bounded_time_and_are_dropped_with_a_log_line()
    {
        var sink = new RecordingSink();
        var tls = Certs.ServerOptions() with { FirstBytesTimeout = TimeSpan.FromMilliseconds(500), HandshakeTimeout = TimeSpan.FromMilliseconds(1500) };
        await using var server = StartServer(sink, tls);

        // Completes the handshake, then holds the connection open without a hello.
        var silentSocket = await TcpConnector.ConnectAsync(new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port), null, TimeSpan.FromSeconds(5), CancellationToken.None);
        await using var silent = await SecureTransport.ClientAsync(silentSocket, "127.0.0.1", Certs.ClientOptions(), CancellationToken.None);
        silent.Start(_ => ValueTask.CompletedTask);
        await silent.Completion.WaitAsync(TestDeadline.Default); // the server hung up on us
        await Eventually.TrueAsync(() => server.EndedConnections.Any(c => c.LastError?.Contains("sent no usbredir hello") == true), "the silent client was dropped");

        // Sends garbage after the handshake: a protocol error ends that connection; the server goes on.
        var garbageSocket = await TcpConnector.ConnectAsync(new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port), null, TimeSpan.FromSeconds(5), CancellationToken.None);
        await using var garbage = await SecureTransport.ClientAsync(garbageSocket, "127.0.0.1", Certs.ClientOptions(), CancellationToken.None);
        garbage.Start(_ => ValueTask.CompletedTask);
        garbage.Outgoing.Enqueue(RandomNumberGenerator.GetBytes(4096));
        garbage.Flush();
        await garbage.Completion.WaitAsync(TestDeadline.Default);
        await Eventually.TrueAsync(() => server.EndedConnections.Count == 2, "the garbage sender was dropped");

        // Stops mid-handshake.
        using var partial = await TcpConnector.ConnectAsync(new UsbRedirEndpoint("127.0.0.1", server.LocalEndPoint.Port), null, TimeSpan.FromSeconds(5), CancellationToken.None);
        partial.Send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]);
        await Eventually.TrueAsync(() => server.Log.Entries.Any(e => e.Message.Contains("handshake timeout", StringComparison.Ordinal)), "the stalled handshake was dropped");
        Assert.True(server.IsRunning);
        Assert.Equal(0, sink.AttachCount);
    }
}
