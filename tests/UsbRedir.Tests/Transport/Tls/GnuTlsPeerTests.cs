using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Tests.Transport.Tls;

/// <summary>
/// GnuTLS (Debian's gnutls-bin, the library QEMU's TLS chardevs use) as an independent TLS peer of our ends, beside
/// OpenSslPeerTests: `gnutls-serv` requiring and verifying a client certificate against our client, `gnutls-cli` verifying
/// our server and presenting its certificate to it, and the refusals each way (another CA, no client certificate, the
/// wrong host name). Every case is one handshake on loopback: seconds.
/// </summary>
public sealed class GnuTlsPeerTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private void Step(string what) => log.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    // Ports 47700-47749 are this test class's (TEAM.md); gnutls-serv takes a fixed port.
    private const int FirstPort = 47700;

    private static TlsTestCertificates Certs => TlsTestCertificates.Instance;

    private static string Pem(string name) => Path.Combine(Certs.Directory, name);

    /// <summary>The certificates of the test set that have no file of their own, written as cert + key PEM files once.</summary>
    private static readonly Lazy<string> Extra = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("usbredir-gnutls-").FullName;
        TlsCertificateFactory.Write(dir, Certs.OtherServer, "other-server-cert.pem", "other-server-key.pem");
        TlsCertificateFactory.Write(dir, Certs.OtherClient, "other-client-cert.pem", "other-client-key.pem");
        TlsCertificateFactory.Write(dir, Certs.WrongName, "wrong-name-cert.pem", "wrong-name-key.pem");
        File.WriteAllText(Path.Combine(dir, "other-ca-cert.pem"), Certs.OtherCa.ExportCertificatePem() + "\n");
        return dir;
    });

    private static string ExtraPem(string name) => Path.Combine(Extra.Value, name);

    /// <summary>A gnutls tool with its output line-buffered (stdbuf), so that what it printed is read even when it is killed.</summary>
    private sealed class Tool : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public Tool(string name, params string[] args)
        {
            var psi = new ProcessStartInfo("stdbuf") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])["-oL", "-eL", name, .. args])
                psi.ArgumentList.Add(a);
            _process = Process.Start(psi)!;
            _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output { get { lock (_output) return _output.ToString(); } }

        public StreamWriter Input => _process.StandardInput;

        public Task<bool> ExitedAsync(TimeSpan limit) => _process.WaitForExitAsync().WaitAsync(limit).ContinueWith(t => t.IsCompletedSuccessfully);

        public int ExitCode => _process.ExitCode;

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill();
            _process.WaitForExit(5000);
            _process.Dispose();
        }
    }

    /// <summary>gnutls-serv in echo mode on <paramref name="port"/>, requiring a client certificate signed by our CA; returns once it accepts.</summary>
    private async Task<Tool> StartServerAsync(int port, string certificate, string key)
    {
        var server = new Tool("gnutls-serv", "--port", port.ToString(), "--echo", "--x509certfile", certificate, "--x509keyfile", key,
            "--x509cafile", Pem(TlsDirectory.CaCertificate), "--require-client-cert", "--verify-client-cert");
        await Eventually.TrueAsync(() => server.Output.Contains($"listening on IPv4 0.0.0.0 port {port}...done"), "gnutls-serv listens");
        Step($"gnutls-serv listens on {port}");
        return server;
    }

    /// <summary>Our client's TLS link to 127.0.0.1:<paramref name="port"/>; the result is the error it ended with.</summary>
    private async Task<UsbRedirException> OurClientAsync(int port, TlsClientOptions options)
    {
        var socket = await TcpConnector.ConnectAsync(new UsbRedirEndpoint("127.0.0.1", port), null, TimeSpan.FromSeconds(5), CancellationToken.None);
        // gnutls-serv is no usbredir end: it never speaks first. A short wait for the hello keeps the good case to seconds.
        var error = await Assert.ThrowsAsync<UsbRedirException>(() =>
            SecureTransport.ClientAsync(socket, "127.0.0.1", options with { HandshakeTimeout = TimeSpan.FromSeconds(2) }, CancellationToken.None));
        Step($"our client: {error.ErrorId}: {error.Message}");
        return error;
    }

    [Fact]
    public async Task Our_client_with_its_certificate_passes_gnutls_serv_requiring_and_verifying_one()
    {
        using var server = await StartServerAsync(FirstPort, Pem(TlsDirectory.ServerCertificate), Pem(TlsDirectory.ServerKey));
        var error = await OurClientAsync(FirstPort, Certs.ClientOptions());
        // Both checks passed (ours of the server, gnutls's of our certificate): the link was up, and only the usbredir hello
        // a gnutls echo server cannot send was missing.
        Assert.Equal("TlsNoHello", error.ErrorId);
        await Eventually.TrueAsync(() => server.Output.Contains("Subject: O=UsbRedir,CN=test client") || server.Output.Contains("Subject: CN=test client"),
            "gnutls-serv showed our client certificate");
        Assert.Contains("- Status: The certificate is trusted.", server.Output);
        Assert.Matches(@"- Description: \(TLS1\.[23]-X\.509\)", server.Output);
    }

    [Fact]
    public async Task Our_client_refuses_gnutls_serv_of_another_CA_or_with_the_wrong_name_and_is_refused_without_an_acceptable_certificate()
    {
        using (var other = await StartServerAsync(FirstPort + 1, ExtraPem("other-server-cert.pem"), ExtraPem("other-server-key.pem")))
            Assert.Equal("TlsCertificateUntrusted", (await OurClientAsync(FirstPort + 1, Certs.ClientOptions())).ErrorId);
        using (var wrongName = await StartServerAsync(FirstPort + 2, ExtraPem("wrong-name-cert.pem"), ExtraPem("wrong-name-key.pem")))
        {
            var error = await OurClientAsync(FirstPort + 2, Certs.ClientOptions());
            Assert.Equal("TlsHostNameMismatch", error.ErrorId);
            Assert.Contains("127.0.0.1", error.Message);
        }
        using var server = await StartServerAsync(FirstPort + 3, Pem(TlsDirectory.ServerCertificate), Pem(TlsDirectory.ServerKey));
        // GnuTLS refuses a missing or foreign client certificate; under TLS 1.3 our client learns it only after its Finished.
        var none = await OurClientAsync(FirstPort + 3, Certs.ClientOptions() with { ClientCertificate = null });
        Assert.Equal("TlsRejectedByPeer", none.ErrorId);
        Assert.Contains("certificate required", none.Message); // GnuTLS's alert, as OpenSSL reads it
        Assert.Contains("requires a client certificate", none.RecommendedAction);
        var foreign = await OurClientAsync(FirstPort + 3, Certs.ClientOptions() with { ClientCertificate = Certs.OtherClient });
        Assert.Equal("TlsRejectedByPeer", foreign.ErrorId);
        Assert.Contains("does not accept our client certificate", foreign.RecommendedAction);
        Assert.DoesNotContain("- Status: The certificate is trusted.", server.Output);
    }

    /// <summary>Accepts one connection on loopback and runs our server's TLS end on it with <paramref name="options"/>.</summary>
    private static async Task<(Task<ByteStreamConnection> Server, int Port, IAsyncDisposable Listener)> OurServerAsync(TlsServerOptions options)
    {
        var listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
        var accepted = new TaskCompletionSource<Socket>();
        _ = listener.AcceptLoopAsync((s, _) => { accepted.TrySetResult(s); return Task.CompletedTask; }, e => accepted.TrySetException(e), CancellationToken.None);
        var server = Task.Run(async () => await SecureTransport.ServerAsync(await accepted.Task, options, CancellationToken.None));
        return (server, listener.LocalEndPoint.Port, listener);
    }

    private static Tool Cli(int port, string caFile, string? certificate, string? key)
    {
        string[] args = ["--port", port.ToString(), "127.0.0.1", "--x509cafile", caFile];
        if (certificate is not null)
            args = [.. args, "--x509certfile", certificate, "--x509keyfile", key!];
        return new Tool("gnutls-cli", args);
    }

    [Fact]
    public async Task Gnutls_cli_verifies_our_server_and_is_verified_by_it()
    {
        var (serverTask, port, listener) = await OurServerAsync(Certs.ServerOptions());
        await using var _ = listener;
        using var client = Cli(port, Pem(TlsDirectory.CaCertificate), Pem(TlsDirectory.ClientCertificate), Pem(TlsDirectory.ClientKey));
        await using var server = await serverTask.WaitAsync(TestDeadline.Default);
        Assert.True(server.Security.IsTls);
        Assert.Equal("test client", server.Security.PeerIdentity!.CommonName);
        Assert.Equal(KeyFingerprintOf(Certs.Client), server.Security.PeerIdentity.PublicKeySha256);
        var received = new StringBuilder();
        server.Start(chunk => { lock (received) received.Append(Encoding.ASCII.GetString(chunk.Span)); return ValueTask.CompletedTask; });
        server.Outgoing.Enqueue(Encoding.ASCII.GetBytes("hello-from-usbredir-server\n"));
        server.Flush();
        await Eventually.TrueAsync(() => client.Output.Contains("hello-from-usbredir-server"), "gnutls-cli printed our line");
        Assert.Contains("- Status: The certificate is trusted.", client.Output);
        await client.Input.WriteLineAsync("from-gnutls-cli");
        await client.Input.FlushAsync();
        await Eventually.TrueAsync(() => { lock (received) return received.ToString().Contains("from-gnutls-cli"); }, "gnutls-cli's line arrived");
    }

    private static string KeyFingerprintOf(X509Certificate2 certificate) => UsbRedir.Security.KeyFingerprint.Of(certificate).ToString()["SHA256:".Length..];

    [Fact]
    public async Task Our_server_refuses_gnutls_cli_without_a_certificate_or_of_another_CA_and_gnutls_cli_refuses_a_server_it_does_not_trust()
    {
        foreach (var (certificate, key, errorId) in new[]
                 {
                     ((string?)null, (string?)null, "TlsClientCertificateMissing"),
                     (ExtraPem("other-client-cert.pem"), ExtraPem("other-client-key.pem"), "TlsCertificateUntrusted"),
                 })
        {
            var (serverTask, port, listener) = await OurServerAsync(Certs.ServerOptions());
            await using var _ = listener;
            using var client = Cli(port, Pem(TlsDirectory.CaCertificate), certificate, key);
            var refused = await Assert.ThrowsAsync<UsbRedirException>(() => serverTask.WaitAsync(TestDeadline.Default));
            Assert.Equal(errorId, refused.ErrorId);
            Assert.Contains("127.0.0.1", refused.Message);
            Assert.True(await client.ExitedAsync(TimeSpan.FromSeconds(10)), "gnutls-cli ends when our server refuses it");
            Assert.NotEqual(0, client.ExitCode);
        }

        // gnutls-cli trusting another CA refuses our server's certificate itself.
        var (ours, otherPort, otherListener) = await OurServerAsync(Certs.ServerOptions());
        await using var __ = otherListener;
        using var stranger = Cli(otherPort, ExtraPem("other-ca-cert.pem"), Pem(TlsDirectory.ClientCertificate), Pem(TlsDirectory.ClientKey));
        Assert.True(await stranger.ExitedAsync(TimeSpan.FromSeconds(10)), "gnutls-cli gives up on a server it does not trust");
        Assert.NotEqual(0, stranger.ExitCode);
        Assert.Contains("The certificate is NOT trusted", stranger.Output);
        await Assert.ThrowsAsync<UsbRedirException>(() => ours.WaitAsync(TestDeadline.Default));
    }
}
