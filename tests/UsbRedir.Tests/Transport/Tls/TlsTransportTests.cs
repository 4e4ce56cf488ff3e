using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Tests.Transport.Tls;

/// <summary>Our TLS client against our TLS server over loopback: both versions, mutual certificates, first-bytes detection, and every refusal.</summary>
public class TlsTransportTests
{
    private static TlsTestCertificates Certs => TlsTestCertificates.Instance;

    /// <summary>Connects a pair of sockets and runs both ends' setup at once.</summary>
    private static async Task<(Task<ByteStreamConnection> Server, Task<ByteStreamConnection> Client)> HandshakeAsync(
        TlsServerOptions? server, TlsClientOptions? client, string host = "127.0.0.1")
    {
        var (clientSocket, serverSocket) = await LoopbackSockets.PairAsync();
        var serverTask = SecureTransport.ServerAsync(serverSocket, server, CancellationToken.None);
        var clientTask = SecureTransport.ClientAsync(clientSocket, host, client, CancellationToken.None);
        return (serverTask, clientTask);
    }

    /// <summary>Starts the server end sending <paramref name="hello"/> at once (what a usbredir session does), and collects what it receives.</summary>
    private static MemoryStream StartEcho(ByteStreamConnection connection, byte[] hello)
    {
        var received = new MemoryStream();
        connection.Start(chunk =>
        {
            lock (received)
                received.Write(chunk.Span);
            return ValueTask.CompletedTask;
        });
        connection.Outgoing.Enqueue(hello);
        connection.Flush();
        return received;
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Mutual_tls_carries_bytes_both_ways_and_names_the_peers(SslProtocols protocol)
    {
        var serverOptions = Certs.ServerOptions() with { Protocols = protocol };
        var (serverTask, clientTask) = await HandshakeAsync(serverOptions, Certs.ClientOptions());
        // The client waits for the server's first bytes (its hello) before it returns: the server starts first.
        await using var server = await serverTask.WaitAsync(TestDeadline.Default);
        var fromClient = StartEcho(server, [1, 2, 3, 4]);
        await using var client = await clientTask.WaitAsync(TestDeadline.Default);
        var fromServer = new MemoryStream();
        client.Start(chunk => { lock (fromServer) fromServer.Write(chunk.Span); return ValueTask.CompletedTask; });

        var payload = RandomNumberGenerator.GetBytes(1024 * 1024 + 3);
        await client.Outgoing.EnqueueAsync(payload, CancellationToken.None);
        await Eventually.TrueAsync(() => { lock (fromClient) return fromClient.Length == payload.Length; }, "the payload crossed");
        Assert.Equal(payload, fromClient.ToArray());
        await Eventually.TrueAsync(() => { lock (fromServer) return fromServer.Length == 4; }, "the server's hello crossed");

        Assert.True(client.Security.IsTls);
        Assert.Equal(protocol, client.Security.Protocol);
        Assert.Equal(protocol, server.Security.Protocol);
        Assert.Equal(TlsSide.Client, client.Security.Side);
        Assert.True(server.Security.PeerIsLoopback);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Certs.Server.RawData)), client.Security.PeerIdentity!.CertificateSha256);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Certs.Client.PublicKey.ExportSubjectPublicKeyInfo())), server.Security.PeerIdentity!.PublicKeySha256);
        Assert.Equal("test client", server.Security.PeerIdentity.CommonName);
        Assert.Contains(protocol == SslProtocols.Tls13 ? "TLS 1.3" : "TLS 1.2", client.Security.ToString());
        // Our ends prefer AES-128-GCM (OpenSSL's own order puts AES-256-GCM first): it costs less CPU per byte.
        Assert.Equal(protocol == SslProtocols.Tls13 ? "TLS_AES_128_GCM_SHA256" : "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", client.Security.CipherSuite);
    }

    [Fact]
    public async Task An_auto_server_serves_plaintext_and_tls_on_one_port_by_the_first_bytes()
    {
        // A plaintext usbredir client sends its hello first: type 0 as a 32-bit LE header.
        var (clientSocket, serverSocket) = await LoopbackSockets.PairAsync();
        using (clientSocket)
        {
            clientSocket.Send(UsbredirHelloHeader);
            await using var plain = await SecureTransport.ServerAsync(serverSocket, Certs.ServerOptions(TlsMode.Auto), CancellationToken.None).WaitAsync(TestDeadline.Default);
            Assert.False(plain.Security.IsTls);
            Assert.Equal(TlsMode.Auto, plain.Security.Mode);
        }

        var (serverTask, clientTask) = await HandshakeAsync(Certs.ServerOptions(TlsMode.Auto), Certs.ClientOptions());
        await using var server = await serverTask.WaitAsync(TestDeadline.Default);
        StartEcho(server, [9]);
        await using var client = await clientTask.WaitAsync(TestDeadline.Default);
        Assert.True(server.Security.IsTls);
        Assert.True(client.Security.IsTls);
    }

    [Fact]
    public async Task An_auto_client_takes_a_peer_that_speaks_first_as_plaintext_and_a_silent_one_as_tls()
    {
        var (clientSocket, serverSocket) = await LoopbackSockets.PairAsync();
        using (serverSocket)
        {
            serverSocket.Send(UsbredirHelloHeader); // QEMU's plaintext chardev: the hello comes at once
            await using var plain = await SecureTransport.ClientAsync(clientSocket, "127.0.0.1", Certs.ClientOptions(TlsMode.Auto), CancellationToken.None);
            Assert.False(plain.Security.IsTls);
        }

        var (serverTask, clientTask) = await HandshakeAsync(Certs.ServerOptions(), Certs.ClientOptions(TlsMode.Auto) with { PeerSpeaksFirstWait = TimeSpan.FromMilliseconds(200) });
        await using var server = await serverTask.WaitAsync(TestDeadline.Default);
        StartEcho(server, [9]);
        await using var client = await clientTask.WaitAsync(TestDeadline.Default);
        Assert.True(client.Security.IsTls);
    }

    /// <summary>The first 16 bytes of a usbredir hello packet (header: type 0, length 68, id 0; then the version text).</summary>
    private static readonly byte[] UsbredirHelloHeader = [0, 0, 0, 0, 68, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)'q', (byte)'e', (byte)'m', (byte)'u'];

    [Fact]
    public async Task A_tls_client_reaching_a_plaintext_usbredir_server_says_so()
    {
        var (clientSocket, serverSocket) = await LoopbackSockets.PairAsync();
        using (serverSocket)
        {
            serverSocket.Send(UsbredirHelloHeader);
            var e = await Assert.ThrowsAsync<UsbRedirException>(() => SecureTransport.ClientAsync(clientSocket, "127.0.0.1", Certs.ClientOptions(), CancellationToken.None));
            Assert.Equal("TlsPeerSpeaksPlaintext", e.ErrorId);
            Assert.Contains("the peer", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("speaks plaintext usbredir", e.Message);
            Assert.NotNull(e.RecommendedAction);
        }
    }

    [Fact]
    public async Task A_tls_only_server_refuses_a_plaintext_client_by_its_hello()
    {
        var (clientSocket, serverSocket) = await LoopbackSockets.PairAsync();
        using (clientSocket)
        {
            clientSocket.Send(UsbredirHelloHeader);
            var e = await Assert.ThrowsAsync<UsbRedirException>(() => SecureTransport.ServerAsync(serverSocket, Certs.ServerOptions(), CancellationToken.None));
            Assert.Equal("TlsPeerSpeaksPlaintext", e.ErrorId);
            Assert.Contains("speaks plaintext usbredir", e.Message);
        }
    }

    [Fact]
    public async Task A_plaintext_only_end_refuses_tls_and_the_client_is_told_the_peer_hung_up()
    {
        var (serverTask, clientTask) = await HandshakeAsync(server: null, Certs.ClientOptions());
        await using var server = await serverTask;
        server.Start(_ => ValueTask.CompletedTask);
        var serverError = Assert.IsType<UsbRedirException>(await server.Completion.WaitAsync(TestDeadline.Default));
        Assert.Equal("TlsToPlaintextPort", serverError.ErrorId);
        Assert.Contains("speaks TLS", serverError.Message);
        var clientError = await Assert.ThrowsAsync<UsbRedirException>(() => clientTask.WaitAsync(TestDeadline.Default));
        Assert.Equal("TlsPeerClosedDuringHandshake", clientError.ErrorId);
    }

    public static TheoryData<string, string> BadServerCertificates => new()
    {
        { nameof(TlsTestCertificates.Expired), "TlsCertificateExpired" },
        { nameof(TlsTestCertificates.NotYetValid), "TlsCertificateNotYetValid" },
        { nameof(TlsTestCertificates.OtherServer), "TlsCertificateUntrusted" },
        { nameof(TlsTestCertificates.WrongName), "TlsHostNameMismatch" },
    };

    [Theory]
    [MemberData(nameof(BadServerCertificates))]
    public async Task A_client_refuses_a_bad_server_certificate_naming_the_cause(string certificate, string errorId)
    {
        var serverCertificate = (System.Security.Cryptography.X509Certificates.X509Certificate2)typeof(TlsTestCertificates).GetProperty(certificate)!.GetValue(Certs)!;
        var (serverTask, clientTask) = await HandshakeAsync(Certs.ServerOptions() with { ServerCertificate = serverCertificate }, Certs.ClientOptions());
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => clientTask.WaitAsync(TestDeadline.Default));
        Assert.Equal(errorId, e.ErrorId);
        Assert.NotNull(e.RecommendedAction);
        await EndsAsync(serverTask);
    }

    /// <summary>
    /// The server end of a handshake the client refused: with TLS 1.3 the server may finish its side before the client's
    /// verdict arrives, and then sees the connection end at once.
    /// </summary>
    private static async Task EndsAsync(Task<ByteStreamConnection> server)
    {
        try
        {
            await using var connection = await server.WaitAsync(TestDeadline.Default);
            connection.Start(_ => ValueTask.CompletedTask);
            await connection.Completion.WaitAsync(TestDeadline.Default);
        }
        catch (UsbRedirException)
        {
        }
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task A_server_refuses_a_client_without_a_certificate_and_the_client_learns_it_was_rejected(SslProtocols protocol)
    {
        var (serverTask, clientTask) = await HandshakeAsync(Certs.ServerOptions() with { Protocols = protocol }, Certs.ClientOptions() with { ClientCertificate = null });
        var serverError = await Assert.ThrowsAsync<UsbRedirException>(() => serverTask.WaitAsync(TestDeadline.Default));
        Assert.Equal("TlsClientCertificateMissing", serverError.ErrorId);
        var clientError = await Assert.ThrowsAsync<UsbRedirException>(() => clientTask.WaitAsync(TestDeadline.Default));
        Assert.Contains(clientError.ErrorId, new[] { "TlsRejectedByPeer", "TlsHandshakeFailed" });
        Assert.NotNull(clientError.RecommendedAction);
    }

    [Fact]
    public async Task A_server_refuses_a_client_certificate_of_another_ca()
    {
        var (serverTask, clientTask) = await HandshakeAsync(Certs.ServerOptions(), Certs.ClientOptions() with { ClientCertificate = Certs.OtherClient });
        var serverError = await Assert.ThrowsAsync<UsbRedirException>(() => serverTask.WaitAsync(TestDeadline.Default));
        Assert.Equal("TlsCertificateUntrusted", serverError.ErrorId);
        Assert.Contains("stranger", serverError.Message);
        await Assert.ThrowsAsync<UsbRedirException>(() => clientTask.WaitAsync(TestDeadline.Default));
    }

    [Fact]
    public async Task The_validation_hook_decides_with_the_peer_identity_and_its_refusal_reaches_the_user()
    {
        TlsPeerValidationContext? seen = null;
        var client = Certs.ClientOptions() with
        {
            Validator = context =>
            {
                seen = context;
                return TlsValidationResult.Reject("TlsServerKeyChanged", $"key {context.Identity!.PublicKeySha256} is not the pinned one", "accept it with ...");
            },
        };
        var (serverTask, clientTask) = await HandshakeAsync(Certs.ServerOptions(), client);
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => clientTask.WaitAsync(TestDeadline.Default));
        Assert.Equal("TlsServerKeyChanged", e.ErrorId);
        Assert.Equal("accept it with ...", e.RecommendedAction);
        Assert.True(seen!.DefaultVerdict.Accepted);
        Assert.Equal(TlsSide.Client, seen.Side);
        Assert.True(seen.PeerIsLoopback);
        await EndsAsync(serverTask);

        // And the admission hook sees the outcome (plaintext or TLS, loopback) once the transport is up.
        var (plainClient, plainServer) = await LoopbackSockets.PairAsync();
        using (plainClient)
        {
            var refused = await Assert.ThrowsAsync<UsbRedirException>(() => SecureTransport.ServerAsync(plainServer,
                Certs.ServerOptions(TlsMode.Plaintext) with { Admit = s => s.IsTls ? TlsValidationResult.Accept : TlsValidationResult.Reject("PlaintextRefused", "plaintext from " + s.RemoteEndPoint, null) },
                CancellationToken.None));
            Assert.Equal("PlaintextRefused", refused.ErrorId);
        }
    }

    [Fact]
    public async Task Hostile_clients_are_dropped_within_the_handshake_timeout()
    {
        var options = Certs.ServerOptions() with { FirstBytesTimeout = TimeSpan.FromMilliseconds(300), HandshakeTimeout = TimeSpan.FromMilliseconds(500) };

        // Silent: connects and sends nothing.
        var (silent, silentServer) = await LoopbackSockets.PairAsync();
        using (silent)
        {
            var e = await Assert.ThrowsAsync<UsbRedirException>(() => SecureTransport.ServerAsync(silentServer, options, CancellationToken.None).WaitAsync(TestDeadline.Default));
            Assert.Equal("TlsHandshakeTimedOut", e.ErrorId);
            Assert.Contains("handshake timeout", e.Message);
        }

        // Stops mid-handshake: the start of a ClientHello record, then nothing.
        var (partial, partialServer) = await LoopbackSockets.PairAsync();
        using (partial)
        {
            partial.Send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
            var e = await Assert.ThrowsAsync<UsbRedirException>(() => SecureTransport.ServerAsync(partialServer, options, CancellationToken.None).WaitAsync(TestDeadline.Default));
            Assert.Equal("TlsHandshakeTimedOut", e.ErrorId);
        }

        // Garbage that is no ClientHello.
        var (garbage, garbageServer) = await LoopbackSockets.PairAsync();
        using (garbage)
        {
            garbage.Send(RandomNumberGenerator.GetBytes(64).Select(b => (byte)(b | 0x80)).ToArray());
            var e = await Assert.ThrowsAsync<UsbRedirException>(() => SecureTransport.ServerAsync(garbageServer, options, CancellationToken.None).WaitAsync(TestDeadline.Default));
            Assert.Equal("TlsPeerNotTls", e.ErrorId);
        }
    }

    [Fact]
    public async Task Writes_towards_a_tls_peer_are_split_into_pieces_of_at_most_4_KiB()
    {
        // SslStream makes one record per write: the pieces handed to it are the records' plaintext.
        var under = new WriteSizes();
        await using var stream = new TlsStream(under, TlsEndOptions.QemuSafeRecordSize);
        await stream.WriteAsync(new byte[10_000]);
        await stream.WriteAsync(new byte[4096]);
        await stream.WriteAsync(new byte[100]);
        Assert.Equal([4096, 4096, 1808, 4096, 100], under.Sizes);
    }

    [Theory]
    [InlineData("qemu usb-redir guest 7.2.22", 4096)]
    [InlineData("UsbRedir 0.9 usb-guest", 16384)]
    public async Task Records_stay_at_4_KiB_towards_qemu_and_grow_for_other_peers(string version, int recordSize)
    {
        // A usbredir hello: 12-byte header (type 0, length 68, id 0), 64 bytes of version text, capabilities.
        var hello = new byte[12 + 64 + 4];
        hello[4] = 68;
        System.Text.Encoding.ASCII.GetBytes(version).CopyTo(hello, 12);
        var under = new WriteSizes(hello);
        await using var stream = new TlsStream(under, TlsEndOptions.QemuSafeRecordSize, limitOnlyForQemu: true);
        await stream.WriteAsync(new byte[10_000]); // before the peer's hello: small records, whoever it is
        Assert.Equal([4096, 4096, 1808], under.Sizes);
        under.Sizes.Clear();
        var buffer = new byte[256];
        while (await stream.ReadAsync(buffer) > 0) { }
        Assert.Equal(recordSize, stream.RecordSize);
        await stream.WriteAsync(new byte[20_000]);
        // Limited records are cut here; full ones are SslStream's to cut (it makes records of at most 16 KiB itself).
        Assert.Equal(recordSize < TlsEndOptions.MaxRecordSize ? [4096, 4096, 4096, 4096, 3616] : [20_000], under.Sizes);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, true)]
    [InlineData(100_000, false)]
    [InlineData(100_000, true)]
    public async Task Reading_ahead_hands_sslstream_whole_records_whatever_the_socket_reads_return(int socketReadSize, bool sync)
    {
        // Records of every size up to TLS's maximum (16 KiB of plaintext + 256), in socket reads of socketReadSize bytes.
        var random = new Random(socketReadSize);
        var records = Enumerable.Range(0, 200).Select(i => TlsRecord(random.Next(1, i % 3 == 0 ? 64 : 16_640), random)).ToList();
        var wire = records.SelectMany(r => r).ToArray();
        var under = new UnderSslStream(new Trickle(wire, socketReadSize));
        under.StartReadingAhead();
        var received = new List<byte>();
        var cuts = new List<int>(); // where each read into a buffer with room for any record ended, in the byte stream
        while (true)
        {
            // SslStream reads into the room left in its buffer: a header's 5 bytes, or up to a record and more.
            var buffer = new byte[random.Next(3) switch { 0 => 5, 1 => random.Next(1, 40_000), _ => 16_645 }];
            var n = sync ? under.Read(buffer) : await under.ReadAsync(buffer);
            if (n == 0)
                break;
            received.AddRange(buffer.AsSpan(0, n).ToArray());
            if (buffer.Length >= 16_645)
                cuts.Add(received.Count);
        }
        Assert.Equal(wire, received.ToArray());
        // Such reads end on a record boundary except where a record had not all arrived (once per socket read at most).
        var boundaries = new HashSet<int>(records.Select(r => r.Length).Aggregate(new List<int> { 0 }, (ends, length) => { ends.Add(ends[^1] + length); return ends; }));
        if (socketReadSize >= 100_000)
            Assert.True(cuts.Count(c => !boundaries.Contains(c)) <= wire.Length / socketReadSize + 1,
                $"{cuts.Count(c => !boundaries.Contains(c))} of {cuts.Count} reads ended inside a record");
    }

    [Theory]
    [InlineData(SslProtocols.Tls12, false)]
    [InlineData(SslProtocols.Tls13, true)]
    public async Task Tls_reading_ahead_carries_writes_of_every_size_intact(SslProtocols protocol, bool syncReads)
    {
        var (a, b) = await LoopbackSockets.PairAsync();
        var under = new UnderSslStream(new NetworkStream(b, ownsSocket: true));
        await using var server = new System.Net.Security.SslStream(new NetworkStream(a, ownsSocket: true));
        var client = new System.Net.Security.SslStream(under);
        var serverDone = server.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions
        {
            ServerCertificate = Certs.ServerOptions().ServerCertificate,
            EnabledSslProtocols = protocol,
        });
        await client.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = protocol,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }).WaitAsync(TestDeadline.Default);
        await serverDone.WaitAsync(TestDeadline.Default);
        await using var stream = new TlsStream(client, 16384, under); // reads ahead from here on

        var random = new Random(1);
        var sent = new MemoryStream();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                var piece = RandomNumberGenerator.GetBytes(random.Next(3) == 0 ? random.Next(1, 100) : random.Next(1, 70_000));
                sent.Write(piece);
                await server.WriteAsync(piece);
            }
            await server.ShutdownAsync();
        });
        var received = new MemoryStream();
        var buffer = new byte[256 * 1024];
        int n;
        while ((n = syncReads ? await Task.Run(() => stream.Read(buffer)) : await stream.ReadAsync(buffer).AsTask().WaitAsync(TestDeadline.Default)) > 0)
            received.Write(buffer, 0, n);
        await writer;
        Assert.Equal(sent.ToArray(), received.ToArray());
    }

    /// <summary>A TLS application-data record with <paramref name="length"/> bytes of random body.</summary>
    private static byte[] TlsRecord(int length, Random random)
    {
        var record = new byte[5 + length];
        (record[0], record[1], record[2], record[3], record[4]) = (0x17, 0x03, 0x03, (byte)(length >> 8), (byte)length);
        random.NextBytes(record.AsSpan(5));
        return record;
    }

    /// <summary>Returns <c>data</c> in reads of at most <c>readSize</c> bytes, as a socket might.</summary>
    private sealed class Trickle(byte[] data, int readSize) : MemoryStream(data)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, readSize)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, readSize)], cancellationToken);
    }

    /// <summary>Reads <c>incoming</c>, records the size of each write.</summary>
    private sealed class WriteSizes(byte[]? incoming = null) : MemoryStream(incoming ?? [])
    {
        public List<int> Sizes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Sizes.Add(buffer.Length);
            return ValueTask.CompletedTask;
        }
    }
}
