using System.Diagnostics;
using System.Net.Sockets;
using UsbRedir.Devices;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Benchmarks;

/// <summary>
/// The usbredir transport end to end over 127.0.0.1 TCP: our usb-host role exporting <see cref="SourceDevice"/> to our
/// usb-guest role (UsbRedirGuestSession / RemoteUsbDevice). Bulk IN throughput for 16 and 64 KiB transfers with
/// several in flight, against raw TCP streaming the same chunk sizes over the same kind of socket pair; the control
/// round trip (GET_DESCRIPTOR, 18 bytes) against a raw TCP ping-pong of the same message sizes; peak memory of each.
/// </summary>
internal sealed class TransportBenchmark : IBenchmark
{
    // Transfers the guest keeps in flight. Bulk IN over a request/answer protocol is bound by the round trip when few are
    // in flight (each answer must come back before its caller asks again), so the table shows two depths.
    private static readonly int[] InFlightDepths = [8, 16];
    // The usbredir control request and its reply on the wire (16-byte header + 10-byte control header [+ 18 bytes]).
    private const int PingSize = 26;
    private const int PongSize = 44;

    public string Name => "transport";

    public string Description => "bulk IN MB/s and control round trip over loopback TCP, host+guest roles vs raw TCP, peak memory";

    public int Run(BenchmarkOptions options) => RunAsync(options).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var seconds = TimeSpan.FromSeconds(options.Seconds);
        Console.WriteLine($"transport benchmark: 127.0.0.1 TCP, best of {options.Rounds} runs of {options.Seconds:0.#} s");
        Console.WriteLine($"{"workload",-38} {"usbredir",12} {"raw TCP",12} {"ratio",7} {"B/op",6}   {"CPU time, voluntary switches per op (usbredir | raw)",-40}   peak RSS / managed heap (usbredir | raw)");
        foreach (var size in new[] { 16 * 1024, 64 * 1024 })
        {
            await BulkInAsync(size, InFlightDepths[0], seconds); // warm-up: JIT, pools, socket buffers
            await RawStreamAsync(size, seconds);
            foreach (var inFlight in InFlightDepths)
            {
                Measured ours = default, raw = default;
                for (var round = 0; round < options.Rounds; round++)
                {
                    var o = await BulkInAsync(size, inFlight, seconds);
                    var r = await RawStreamAsync(size, seconds);
                    if (o.Value > ours.Value) ours = o;
                    if (r.Value > raw.Value) raw = r;
                }
                Console.WriteLine($"{$"bulk IN {size / 1024} KiB, {inFlight} in flight (MB/s)",-38} {ours.Value,12:0} {raw.Value,12:0} {ours.Value / raw.Value,6:0%} {ours.AllocatedPerOperation,6:0}   {$"{ours.Cost} | {raw.Cost}",-40}   {ours.Memory} | {raw.Memory}");
            }
        }

        await ControlRoundTripAsync(seconds);
        await RawPingPongAsync(seconds);
        Measured rtt = new(double.MaxValue, null), rawRtt = new(double.MaxValue, null);
        for (var round = 0; round < options.Rounds; round++)
        {
            var o = await ControlRoundTripAsync(seconds);
            var r = await RawPingPongAsync(seconds);
            if (o.Value < rtt.Value) rtt = o;
            if (r.Value < rawRtt.Value) rawRtt = r;
        }
        Console.WriteLine($"{"control round trip (us)",-38} {rtt.Value,12:0.0} {rawRtt.Value,12:0.0} {rtt.Value / rawRtt.Value,6:0.00}x {rtt.AllocatedPerOperation,6:0}   {$"{rtt.Cost} | {rawRtt.Cost}",-40}   {rtt.Memory} | {rawRtt.Memory}");
        await TlsRowsAsync(options, seconds);
        return 0;
    }

    /// <summary>
    /// The same workloads over TLS 1.3 (mutual certificates, as <see cref="SecureTransport"/> sets up a link) beside
    /// plaintext usbredir, measured in turns in this process: with records of at most 4 KiB of plaintext (what UsbRedir
    /// writes towards QEMU, for QEMU 7.2) and of 16 KiB (TLS's maximum, what UsbRedir writes to other peers), to show what
    /// the 4 KiB pieces cost.
    /// </summary>
    private static async Task TlsRowsAsync(BenchmarkOptions options, TimeSpan seconds)
    {
        using var certificates = TlsBenchCertificates.Create();
        Console.WriteLine();
        Console.WriteLine($"{"workload (TLS 1.3 vs plaintext usbredir)",-38} {"TLS 4 KiB",12} {"TLS 16 KiB",12} {"plain",12} {"4K/plain",8} {"16K/plain",9}");
        const int size = 64 * 1024, inFlight = 16;
        await BulkInAsync(size, inFlight, seconds, certificates.Link(qemuRecords: true)); // warm-up
        Measured tls4 = default, tls16 = default, plain = default;
        for (var round = 0; round < options.Rounds; round++)
        {
            var a = await BulkInAsync(size, inFlight, seconds, certificates.Link(qemuRecords: true));
            var b = await BulkInAsync(size, inFlight, seconds, certificates.Link(qemuRecords: false));
            var c = await BulkInAsync(size, inFlight, seconds);
            if (a.Value > tls4.Value) tls4 = a;
            if (b.Value > tls16.Value) tls16 = b;
            if (c.Value > plain.Value) plain = c;
        }
        Console.WriteLine($"{$"bulk IN {size / 1024} KiB, {inFlight} in flight (MB/s)",-38} {tls4.Value,12:0} {tls16.Value,12:0} {plain.Value,12:0} {tls4.Value / plain.Value,8:0%} {tls16.Value / plain.Value,9:0%}");

        await ControlRoundTripAsync(seconds, certificates.Link(qemuRecords: true));
        Measured rtt4 = new(double.MaxValue, null), rttPlain = new(double.MaxValue, null);
        for (var round = 0; round < options.Rounds; round++)
        {
            var a = await ControlRoundTripAsync(seconds, certificates.Link(qemuRecords: true));
            var c = await ControlRoundTripAsync(seconds);
            if (a.Value < rtt4.Value) rtt4 = a;
            if (c.Value < rttPlain.Value) rttPlain = c;
        }
        Console.WriteLine($"{"control round trip (us)",-38} {rtt4.Value,12:0.0} {"",12} {rttPlain.Value,12:0.0} {rtt4.Value / rttPlain.Value,7:0.00}x");
    }

    /// <summary>A CA, server and client certificate made by UsbRedir's tooling in a temporary directory (QEMU's layout).</summary>
    private sealed class TlsBenchCertificates : IDisposable
    {
        private readonly string _directory;

        private TlsBenchCertificates(string directory) => _directory = directory;

        public static TlsBenchCertificates Create()
        {
            var dir = Directory.CreateTempSubdirectory("usbredir-bench-tls-").FullName;
            TlsCertificateFactory.NewCa(dir);
            TlsCertificateFactory.NewSigned(dir, TlsCertificateKind.Server, hosts: ["127.0.0.1"]);
            TlsCertificateFactory.NewSigned(dir, TlsCertificateKind.Client);
            return new TlsBenchCertificates(dir);
        }

        /// <summary>
        /// Both ends' TLS settings, TLS 1.3: <paramref name="qemuRecords"/>: every record at most 4 KiB of plaintext (what
        /// UsbRedir writes towards QEMU); else the default, which writes 16 KiB records to a peer that is not QEMU.
        /// </summary>
        public (TlsServerOptions Server, TlsClientOptions Client) Link(bool qemuRecords) => (
            TlsServerOptions.FromDirectory(_directory) with { LimitRecordsOnlyForQemu = !qemuRecords, Protocols = System.Security.Authentication.SslProtocols.Tls13 },
            TlsClientOptions.FromDirectory(_directory) with { LimitRecordsOnlyForQemu = !qemuRecords });

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }

    /// <summary>A figure (MB/s or microseconds), the peak memory seen while it was measured, and managed bytes allocated per
    /// transfer or round trip (whole process: both roles, the loops and the workers; nothing else runs meanwhile).</summary>
    private readonly record struct Measured(double Value, MemoryPeak? Memory, double AllocatedPerOperation = 0, ProcessCost Cost = default);

    private static double PerOperation(long allocatedBefore, long operations) =>
        operations == 0 ? 0 : (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (double)operations;

    private static async Task<Measured> BulkInAsync(int size, int inFlight, TimeSpan duration, (TlsServerOptions, TlsClientOptions)? tls = null)
    {
        await using var pair = await SessionPair.StartAsync(tls);
        using var memory = MemoryPeak.Sample();
        long bytes = 0;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cost = ProcessCost.Start();
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
        {
            var buffer = new byte[size];
            long mine = 0;
            while (sw.Elapsed < duration)
            {
                var result = await pair.Remote.TransferAsync(0x81, buffer, CancellationToken.None);
                if (result.Status != UsbStatus.Success || result.ActualLength != size)
                    throw new InvalidOperationException($"bulk IN failed: {result}; {pair.Describe()}");
                mine += result.ActualLength;
            }
            Interlocked.Add(ref bytes, mine);
        })).ToArray();
        await Task.WhenAll(workers);
        var elapsed = sw.Elapsed;
        return new Measured(bytes / elapsed.TotalSeconds / 1e6, memory.Stop(), PerOperation(allocated, bytes / size), cost.PerOperation(bytes / size));
    }

    private static async Task<Measured> RawStreamAsync(int size, TimeSpan duration)
    {
        var (a, b) = await LoopbackSockets.PairAsync();
        using var memory = MemoryPeak.Sample();
        using var sender = new NetworkStream(a, ownsSocket: true);
        using var receiver = new NetworkStream(b, ownsSocket: true);
        var stop = new CancellationTokenSource();
        var cost = ProcessCost.Start();
        var sw = Stopwatch.StartNew();
        var send = Task.Run(async () =>
        {
            var chunk = new byte[size];
            try
            {
                while (!stop.IsCancellationRequested)
                    await sender.WriteAsync(chunk, stop.Token);
            }
            catch (OperationCanceledException) { }
            catch (IOException) when (stop.IsCancellationRequested) { } // the shutdown below can beat the cancellation
        });
        long bytes = 0;
        var buffer = new byte[256 * 1024]; // the read size ByteStreamConnection uses
        while (sw.Elapsed < duration)
            bytes += await receiver.ReadAsync(buffer);
        var elapsed = sw.Elapsed;
        var perChunk = cost.PerOperation(bytes / size);
        stop.Cancel();
        a.Shutdown(SocketShutdown.Both);
        while (await receiver.ReadAsync(buffer) > 0) { }
        await send;
        return new Measured(bytes / elapsed.TotalSeconds / 1e6, memory.Stop(), Cost: perChunk);
    }

    private static async Task<Measured> ControlRoundTripAsync(TimeSpan duration, (TlsServerOptions, TlsClientOptions)? tls = null)
    {
        await using var pair = await SessionPair.StartAsync(tls);
        using var memory = MemoryPeak.Sample();
        var buffer = new byte[18];
        var setup = new UsbSetupPacket(0x80, 6, 0x0100, 0, 18);
        long count = 0;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cost = ProcessCost.Start();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            var result = await pair.Remote.ControlTransferAsync(setup, buffer, CancellationToken.None);
            if (result.Status != UsbStatus.Success || result.ActualLength != 18)
                throw new InvalidOperationException($"GET_DESCRIPTOR failed: {result}; {pair.Describe()}");
            count++;
        }
        return new Measured(sw.Elapsed.TotalMicroseconds / count, memory.Stop(), PerOperation(allocated, count), cost.PerOperation(count));
    }

    private static async Task<Measured> RawPingPongAsync(TimeSpan duration)
    {
        var (a, b) = await LoopbackSockets.PairAsync();
        using var memory = MemoryPeak.Sample();
        using var client = new NetworkStream(a, ownsSocket: true);
        using var server = new NetworkStream(b, ownsSocket: true);
        var echo = Task.Run(async () =>
        {
            var request = new byte[PingSize];
            var reply = new byte[PongSize];
            while (await ReadExactlyOrEndAsync(server, request))
                await server.WriteAsync(reply);
        });
        var ping = new byte[PingSize];
        var pong = new byte[PongSize];
        long count = 0;
        var cost = ProcessCost.Start();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            await client.WriteAsync(ping);
            await client.ReadExactlyAsync(pong);
            count++;
        }
        var elapsed = sw.Elapsed;
        var perRoundTrip = cost.PerOperation(count);
        a.Shutdown(SocketShutdown.Send);
        await echo;
        return new Measured(elapsed.TotalMicroseconds / count, memory.Stop(), Cost: perRoundTrip);
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    /// <summary>Our host role exporting a fresh <see cref="SourceDevice"/> to our guest role.</summary>
    private sealed class SessionPair : IAsyncDisposable
    {
        private readonly UsbRedirHostSession _host;
        private readonly UsbRedirGuestSession _guest;

        private SessionPair(UsbRedirHostSession host, UsbRedirGuestSession guest, RemoteUsbDevice remote)
        {
            _host = host;
            _guest = guest;
            Remote = remote;
        }

        public RemoteUsbDevice Remote { get; }

        /// <param name="tls">Null: plaintext. Else the guest side is the TLS server, the host side the client, as with a UsbRedir server.</param>
        public static async Task<SessionPair> StartAsync((TlsServerOptions Server, TlsClientOptions Client)? tls = null)
        {
            var (guestSide, hostSide) = await LoopbackSockets.PairAsync();
            UsbRedirHostSession host;
            UsbRedirGuestSession guest;
            if (tls is { } t)
            {
                // The client waits for the server's hello: the guest session starts as soon as its end is up.
                var serverEnd = SecureTransport.ServerAsync(guestSide, t.Server, CancellationToken.None);
                var clientEnd = SecureTransport.ClientAsync(hostSide, "127.0.0.1", t.Client, CancellationToken.None);
                guest = new UsbRedirGuestSession(await serverEnd, new SessionLog());
                guest.Start();
                host = new UsbRedirHostSession(new SourceDevice(), await clientEnd, new SessionLog());
                host.Start();
            }
            else
            {
                host = new UsbRedirHostSession(new SourceDevice(), ByteStreamConnection.FromSocket(hostSide), new SessionLog());
                guest = new UsbRedirGuestSession(ByteStreamConnection.FromSocket(guestSide), new SessionLog());
                host.Start();
                guest.Start();
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var remote = await guest.NextDeviceAsync(timeout.Token)
                         ?? throw new InvalidOperationException($"no device reached the guest: {guest.Log.LastError?.Message ?? host.Log.LastError?.Message}");
            return new SessionPair(host, guest, remote);
        }

        public string Describe() => $"host: {_host.Log.LastError?.Message ?? "no error"}, guest: {_guest.Log.LastError?.Message ?? "no error"}";

        public async ValueTask DisposeAsync()
        {
            await _guest.DisposeAsync();
            await _host.DisposeAsync();
        }
    }
}
