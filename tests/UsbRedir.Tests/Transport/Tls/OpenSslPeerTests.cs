using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Tests.Transport.Tls;

/// <summary>
/// OpenSSL as an independent TLS peer of our ends, with the certificate set our tooling writes: `openssl s_server`
/// requiring a client certificate against our client, `openssl s_client` verifying our server, and `openssl verify` /
/// `openssl x509` reading the set as QEMU's checks need it (CA:TRUE critical, keyCertSign, the EKUs).
/// </summary>
public class OpenSslPeerTests
{
    private static TlsTestCertificates Certs => TlsTestCertificates.Instance;

    private static string Pem(string name) => Path.Combine(Certs.Directory, name);

    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task Our_client_with_its_certificate_talks_to_openssl_s_server_requiring_one()
    {
        var port = FreePort();
        using var server = Start("s_server", "-accept", $"127.0.0.1:{port}", "-naccept", "1", "-cert", Pem(TlsDirectory.ServerCertificate),
            "-key", Pem(TlsDirectory.ServerKey), "-CAfile", Pem(TlsDirectory.CaCertificate), "-Verify", "1", "-verify_return_error");
        try
        {
            var stdout = new StringBuilder();
            server.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
            server.BeginOutputReadLine();
            await Eventually.TrueAsync(() => { lock (stdout) return stdout.ToString().Contains("ACCEPT"); }, "openssl s_server listens");
            var socket = await TcpConnector.ConnectAsync(new UsbRedirEndpoint("127.0.0.1", port), null, TimeSpan.FromSeconds(5), CancellationToken.None);
            // Our client waits for the server's first bytes (as for a usbredir hello): s_server sends a line of its stdin
            // once it has printed the session it negotiated.
            var handshake = SecureTransport.ClientAsync(socket, "127.0.0.1", Certs.ClientOptions(), CancellationToken.None);
            await Eventually.TrueAsync(() => { lock (stdout) return stdout.ToString().Contains("CIPHER is"); }, "s_server completed the handshake");
            Assert.Contains("test client", stdout.ToString()); // s_server saw and verified our client certificate
            await server.StandardInput.WriteLineAsync("server-speaks-first");
            await server.StandardInput.FlushAsync();
            await using var client = await handshake.WaitAsync(TestDeadline.Default);
            Assert.True(client.Security.IsTls);
            Assert.Equal("test server", client.Security.PeerIdentity!.CommonName);
            var received = new StringBuilder();
            client.Start(chunk => { lock (received) received.Append(Encoding.ASCII.GetString(chunk.Span)); return ValueTask.CompletedTask; });
            await Eventually.TrueAsync(() => { lock (received) return received.ToString().Contains("server-speaks-first"); }, "s_server's line arrived");
            client.Outgoing.Enqueue(Encoding.ASCII.GetBytes("from-usbredir-client\n"));
            client.Flush();
            await Eventually.TrueAsync(() => { lock (stdout) return stdout.ToString().Contains("from-usbredir-client"); }, "s_server printed our line");
        }
        finally
        {
            if (!server.HasExited)
                server.Kill();
        }
    }

    [Fact]
    public async Task Openssl_s_client_verifies_our_server_and_is_verified_by_it()
    {
        await using var listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
        var accepted = new TaskCompletionSource<Socket>();
        using var cts = new CancellationTokenSource(TestDeadline.Default);
        _ = listener.AcceptLoopAsync((s, _) => { accepted.TrySetResult(s); return Task.CompletedTask; }, e => accepted.TrySetException(e), cts.Token);
        using var client = Start("s_client", "-connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "-quiet", "-verify_return_error",
            "-verify_ip", "127.0.0.1", "-CAfile", Pem(TlsDirectory.CaCertificate), "-cert", Pem(TlsDirectory.ClientCertificate), "-key", Pem(TlsDirectory.ClientKey));
        try
        {
            var stdout = new StringBuilder();
            client.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
            client.BeginOutputReadLine();
            await using var server = await SecureTransport.ServerAsync(await accepted.Task.WaitAsync(cts.Token), Certs.ServerOptions(), CancellationToken.None);
            Assert.True(server.Security.IsTls);
            Assert.Equal("test client", server.Security.PeerIdentity!.CommonName);
            var received = new StringBuilder();
            server.Start(chunk => { lock (received) received.Append(Encoding.ASCII.GetString(chunk.Span)); return ValueTask.CompletedTask; });
            server.Outgoing.Enqueue(Encoding.ASCII.GetBytes("hello-from-usbredir-server\n"));
            server.Flush();
            await Eventually.TrueAsync(() => { lock (stdout) return stdout.ToString().Contains("hello-from-usbredir-server"); }, "s_client printed our line");
            await client.StandardInput.WriteLineAsync("from-s_client");
            await client.StandardInput.FlushAsync();
            await Eventually.TrueAsync(() => { lock (received) return received.ToString().Contains("from-s_client"); }, "s_client's line arrived");
        }
        finally
        {
            if (!client.HasExited)
                client.Kill();
        }
    }

    [Theory]
    // Our ends put AES-128-GCM first (SecureTransport's cipher policy); a peer that offers only another suite OpenSSL
    // offers by default is still served with it.
    [InlineData("TLS_AES_256_GCM_SHA384", "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384")]
    [InlineData("TLS_CHACHA20_POLY1305_SHA256", "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")]
    [InlineData("TLS_AES_128_GCM_SHA256", "-tls1_3")]
    [InlineData("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA")]
    [InlineData("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "-tls1_2")]
    public async Task Our_server_prefers_aes_128_gcm_and_still_serves_every_suite_openssl_offers(string expected, params string[] clientArgs)
    {
        await using var listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
        var accepted = new TaskCompletionSource<Socket>();
        using var cts = new CancellationTokenSource(TestDeadline.Default);
        _ = listener.AcceptLoopAsync((s, _) => { accepted.TrySetResult(s); return Task.CompletedTask; }, e => accepted.TrySetException(e), cts.Token);
        using var client = Start(["s_client", "-connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "-quiet", "-verify_return_error",
            "-CAfile", Pem(TlsDirectory.CaCertificate), "-cert", Pem(TlsDirectory.ClientCertificate), "-key", Pem(TlsDirectory.ClientKey), .. clientArgs]);
        try
        {
            var stdout = new StringBuilder();
            client.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
            client.BeginOutputReadLine();
            await using var server = await SecureTransport.ServerAsync(await accepted.Task.WaitAsync(cts.Token), Certs.ServerOptions(), CancellationToken.None);
            Assert.Equal(expected, server.Security.CipherSuite);
            server.Start(_ => ValueTask.CompletedTask);
            server.Outgoing.Enqueue(Encoding.ASCII.GetBytes("over-" + expected + "\n"));
            server.Flush();
            await Eventually.TrueAsync(() => { lock (stdout) return stdout.ToString().Contains("over-" + expected); }, "s_client printed our line");
        }
        finally
        {
            if (!client.HasExited)
                client.Kill();
        }
    }

    [Fact]
    public async Task Openssl_reads_the_set_as_qemu_needs_it()
    {
        async Task<string> RunAsync(params string[] args)
        {
            using var p = Start(args);
            p.StandardInput.Close();
            var output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, output);
            return output;
        }
        var verified = await RunAsync("verify", "-CAfile", Pem(TlsDirectory.CaCertificate), "-purpose", "sslserver", Pem(TlsDirectory.ServerCertificate));
        Assert.Contains("OK", verified);
        await RunAsync("verify", "-CAfile", Pem(TlsDirectory.CaCertificate), "-purpose", "sslclient", Pem(TlsDirectory.ClientCertificate));
        var ca = await RunAsync("x509", "-noout", "-text", "-in", Pem(TlsDirectory.CaCertificate));
        Assert.Matches(@"Basic Constraints: critical\s+CA:TRUE", ca);
        Assert.Matches(@"Key Usage: critical\s+Certificate Sign", ca);
        var server = await RunAsync("x509", "-noout", "-text", "-in", Pem(TlsDirectory.ServerCertificate));
        Assert.Matches(@"Key Usage: critical\s+Digital Signature, Key Encipherment", server);
        Assert.Contains("TLS Web Server Authentication", server);
        Assert.Contains("IP Address:127.0.0.1", server);
        var client = await RunAsync("x509", "-noout", "-text", "-in", Pem(TlsDirectory.ClientCertificate));
        Assert.Contains("TLS Web Client Authentication", client);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Pem(TlsDirectory.ClientKey)));
    }
}
