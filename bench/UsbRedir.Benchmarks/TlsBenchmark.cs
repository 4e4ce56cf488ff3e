using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using UsbRedir.Transport.Tls;
using static UsbRedir.Benchmarks.TransportBenchmark;

namespace UsbRedir.Benchmarks;

/// <summary>
/// TLS beside plaintext over 127.0.0.1 TCP, every row measured in turns in one run, best of the rounds: 64 KiB bulk IN
/// (16 in flight) and the control round trip through our usb-host and usb-guest roles over <see cref="SecureTransport"/>
/// (TLS 1.3, mutual certificates) and over plaintext, with what TLS itself costs here as baselines: raw TCP streaming
/// 64 KiB writes, a bare <see cref="SslStream"/> pair (same certificates, TLS version, cipher and read size, no
/// usbredir), OpenSSL in C (native/tls_stream.c, both ends in one process as here), and AES-GCM sealing and opening
/// 16 KiB blocks on one thread. Beside each figure: the CPU time of the whole process per byte (both ends), which a
/// loaded machine moves far less than it moves throughput.
/// </summary>
internal sealed class TlsBenchmark : IBenchmark
{
    private const int Size = 64 * 1024, InFlight = 16;

    public string Name => "tls";

    public string Description => "TLS vs plaintext over loopback: usbredir bulk IN / control round trip, raw TCP, SslStream, OpenSSL in C, AES-GCM";

    public int Run(BenchmarkOptions options) => RunAsync(options).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var seconds = TimeSpan.FromSeconds(options.Seconds);
        using var certificates = TlsBenchCertificates.Create();
        var nativeExe = NativeBaseline.Build("tls_stream.c", "openssl");
        var suites = new[] { TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256 };
        Console.WriteLine($"tls benchmark: 127.0.0.1 TCP, TLS 1.3 with client and server certificates, best of {options.Rounds} runs of {options.Seconds:0.#} s; load average {LoadAverage()}");

        var bulk = new List<Row>
        {
            new("raw TCP, 64 KiB writes", () => RawStreamAsync(Size, seconds), Size),
        };
        foreach (var suite in suites)
            bulk.Add(new Row($"OpenSSL in C, {Short(suite)}, 16 KiB records", () => Task.FromResult(Native(nativeExe, certificates, suite, 16384, seconds)), 1));
        foreach (var suite in suites)
            bulk.Add(new Row($"SslStream, {Short(suite)}, 16 KiB records", () => RawStreamAsync(Size, seconds, certificates.SslPair(suite)), Size));
        bulk.Add(new Row("usbredir plaintext", () => BulkInAsync(Size, InFlight, seconds), Size));
        bulk.Add(new Row("usbredir TLS, 16 KiB records", () => BulkInAsync(Size, InFlight, seconds, certificates.Link(qemuRecords: false)), Size));
        bulk.Add(new Row("usbredir TLS, 4 KiB records (to QEMU)", () => BulkInAsync(Size, InFlight, seconds, certificates.Link(qemuRecords: true)), Size));
        bulk.Add(new Row("AES-128-GCM seal+open 16 KiB, 1 thread", () => Task.FromResult(SealOpen(16, seconds)), 1));
        bulk.Add(new Row("AES-256-GCM seal+open 16 KiB, 1 thread", () => Task.FromResult(SealOpen(32, seconds)), 1));

        var control = new List<Row>
        {
            new("raw TCP ping-pong (26/44 B)", () => RawPingPongAsync(seconds), 0),
            new("SslStream ping-pong (26/44 B)", () => RawPingPongAsync(seconds, certificates.SslPair(null)), 0),
            new("usbredir plaintext", () => ControlRoundTripAsync(seconds), 0),
            new("usbredir TLS", () => ControlRoundTripAsync(seconds, certificates.Link(qemuRecords: true)), 0),
        };

        if (options.Only is { } only)
        {
            // The rows the ratios are taken against stay.
            var (plainRow, rawPingRow) = (bulk.Single(r => r.Name == "usbredir plaintext"), control[0]);
            bulk.RemoveAll(r => r != plainRow && !r.Name.Contains(only, StringComparison.OrdinalIgnoreCase));
            control.RemoveAll(r => r != rawPingRow && !r.Name.Contains(only, StringComparison.OrdinalIgnoreCase));
        }
        foreach (var row in bulk.Concat(control))
            await row.Measure(); // warm-up: JIT, pools, socket buffers
        for (var round = 0; round < options.Rounds; round++)
            foreach (var row in bulk.Concat(control))
                await row.Measure();

        var plain = bulk.Single(r => r.Name == "usbredir plaintext");
        Console.WriteLine();
        Console.WriteLine($"{"64 KiB bulk (usbredir: bulk IN, 16 in flight)",-48} {"MB/s",8} {"/plain",7} {"CPU ns/B",9} {"CPU µs/64K",11} {"sw/64K",7}");
        foreach (var row in bulk)
            Console.WriteLine($"{row.Name,-48} {row.BestValue,8:0} {row.BestValue / plain.BestValue,7:0%} {row.BestCpuPerByte,9:0.000} {row.BestCpuPerByte * Size / 1000,11:0.0} {row.BestSwitches * Size,7:0.00}");
        var rawPing = control[0];
        Console.WriteLine();
        Console.WriteLine($"{"control round trip",-48} {"µs",8} {"/raw",7} {"CPU µs/op",9} {"sw/op",7}");
        foreach (var row in control)
            Console.WriteLine($"{row.Name,-48} {row.BestValue,8:0.0} {row.BestValue / rawPing.BestValue,6:0.00}x {row.BestCpuPerOp,9:0.0} {row.BestSwitches,7:0.00}");
        Console.WriteLine();
        await using (var pair = await SessionPair.StartAsync(certificates.Link(qemuRecords: false)))
            Console.WriteLine($"usbredir TLS negotiated {pair.CipherSuite}; load average now {LoadAverage()}");
        return 0;
    }

    private static string Short(TlsCipherSuite suite) => suite switch
    {
        TlsCipherSuite.TLS_AES_128_GCM_SHA256 => "AES-128-GCM",
        TlsCipherSuite.TLS_AES_256_GCM_SHA384 => "AES-256-GCM",
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256 => "ChaCha20",
        _ => suite.ToString(),
    };

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    /// <summary>One workload: its best throughput (highest MB/s) or round trip (lowest µs), and its lowest CPU time.</summary>
    private sealed class Row(string name, Func<Task<Measured>> run, int bytesPerOperation)
    {
        public string Name => name;
        public double BestValue { get; private set; } = bytesPerOperation == 0 ? double.MaxValue : 0;
        /// <summary>CPU ns per byte (bulk rows).</summary>
        public double BestCpuPerByte { get; private set; } = double.MaxValue;
        /// <summary>CPU µs per operation (round-trip rows).</summary>
        public double BestCpuPerOp { get; private set; } = double.MaxValue;
        /// <summary>Fewest voluntary context switches per operation (per byte for bulk rows, then shown per 64 KiB).</summary>
        public double BestSwitches { get; private set; } = double.MaxValue;

        public async Task Measure()
        {
            var m = await run();
            BestValue = bytesPerOperation == 0 ? Math.Min(BestValue, m.Value) : Math.Max(BestValue, m.Value);
            BestCpuPerOp = Math.Min(BestCpuPerOp, m.Cost.CpuMicroseconds);
            BestSwitches = Math.Min(BestSwitches, m.Cost.VoluntarySwitches / Math.Max(1, bytesPerOperation));
            if (bytesPerOperation > 0)
                BestCpuPerByte = Math.Min(BestCpuPerByte, m.Cost.CpuMicroseconds * 1000 / bytesPerOperation);
        }
    }

    /// <summary>native/tls_stream.c: OpenSSL both ends, one process. Cost is per byte (bytesPerOperation 1).</summary>
    private static Measured Native(string exe, TlsBenchCertificates certificates, TlsCipherSuite suite, int record, TimeSpan duration)
    {
        var output = UsbRedir.Tests.Support.ProcessRunner.Run(exe, certificates.ServerCertificateFile, certificates.ServerKeyFile, suite.ToString(),
            Size.ToString(CultureInfo.InvariantCulture), record.ToString(CultureInfo.InvariantCulture), duration.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        var fields = output.Trim().Split(' ').Select(f => f.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        var bytes = double.Parse(fields["bytes"], CultureInfo.InvariantCulture);
        var ns = double.Parse(fields["ns"], CultureInfo.InvariantCulture);
        var cpu = double.Parse(fields["cpu_ns"], CultureInfo.InvariantCulture);
        var switches = double.Parse(fields["switches"], CultureInfo.InvariantCulture);
        return new Measured(bytes / ns * 1e3, null, Cost: new ProcessCost(cpu / 1000 / bytes, switches / bytes));
    }

    /// <summary>AES-GCM (OpenSSL through System.Security.Cryptography) sealing and opening 16 KiB blocks: the crypto floor per byte of one TLS link (each byte is encrypted once and decrypted once).</summary>
    private static Measured SealOpen(int keyBytes, TimeSpan duration)
    {
        using var aes = new AesGcm(RandomNumberGenerator.GetBytes(keyBytes), 16);
        var plain = new byte[16384];
        var sealedBytes = new byte[16384];
        var opened = new byte[16384];
        var tag = new byte[16];
        var nonce = new byte[12];
        long bytes = 0;
        var cost = ProcessCost.Start();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            for (var i = 0; i < 64; i++)
            {
                nonce[0]++;
                aes.Encrypt(nonce, plain, sealedBytes, tag);
                aes.Decrypt(nonce, sealedBytes, tag, opened);
            }
            bytes += 64 * 16384;
        }
        var elapsed = sw.Elapsed;
        return new Measured(bytes / elapsed.TotalSeconds / 1e6, null, Cost: cost.PerOperation(bytes));
    }

    /// <summary>A CA, server and client certificate made by UsbRedir's tooling in a temporary directory (QEMU's layout).</summary>
    private sealed class TlsBenchCertificates : IDisposable
    {
        private readonly string _directory;
        private readonly TlsServerOptions _server;
        private readonly TlsClientOptions _client;

        private TlsBenchCertificates(string directory)
        {
            _directory = directory;
            _server = TlsServerOptions.FromDirectory(directory);
            _client = TlsClientOptions.FromDirectory(directory);
        }

        public static TlsBenchCertificates Create()
        {
            var dir = Directory.CreateTempSubdirectory("usbredir-bench-tls-").FullName;
            TlsCertificateFactory.NewCa(dir);
            TlsCertificateFactory.NewSigned(dir, TlsCertificateKind.Server, hosts: ["127.0.0.1"]);
            TlsCertificateFactory.NewSigned(dir, TlsCertificateKind.Client);
            return new TlsBenchCertificates(dir);
        }

        public string ServerCertificateFile => Path.Combine(_directory, TlsDirectory.ServerCertificate);
        public string ServerKeyFile => Path.Combine(_directory, TlsDirectory.ServerKey);

        /// <summary>
        /// Both ends' TLS settings, TLS 1.3: <paramref name="qemuRecords"/>: every record at most 4 KiB of plaintext (what
        /// UsbRedir writes towards QEMU); else the default, which writes 16 KiB records to a peer that is not QEMU.
        /// </summary>
        public (TlsServerOptions Server, TlsClientOptions Client) Link(bool qemuRecords) => (
            _server with { LimitRecordsOnlyForQemu = !qemuRecords, Protocols = SslProtocols.Tls13 },
            _client with { LimitRecordsOnlyForQemu = !qemuRecords });

        /// <summary>
        /// A bare SslStream on each socket, the first socket's the TLS server's, TLS 1.3 with the same certificates and both
        /// ends' certificates asked for (not judged: only the handshake would pay for that); <paramref name="suite"/> null:
        /// the default suites.
        /// </summary>
        public Func<Socket, Socket, Task<(Stream, Stream)>> SslPair(TlsCipherSuite? suite) => async (a, b) =>
        {
            var policy = suite is { } s && !OperatingSystem.IsWindows() ? new CipherSuitesPolicy([s]) : null;
            var server = new SslStream(new NetworkStream(a, ownsSocket: true));
            var client = new SslStream(new NetworkStream(b, ownsSocket: true));
            var serverDone = server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _server.ServerCertificate,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                CipherSuitesPolicy = policy,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ClientCertificates = [_client.ClientCertificate!],
                EnabledSslProtocols = SslProtocols.Tls13,
                CipherSuitesPolicy = policy,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            await serverDone;
            return (server, client);
        };

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}
