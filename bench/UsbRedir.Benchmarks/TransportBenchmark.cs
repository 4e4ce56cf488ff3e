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
        return 0;
    }

    /// <summary>A figure (MB/s or microseconds), the peak memory seen while it was measured, and managed bytes allocated per
    /// transfer or round trip (whole process: both roles, the loops and the workers; nothing else runs meanwhile).</summary>
    internal readonly record struct Measured(double Value, MemoryPeak? Memory, double AllocatedPerOperation = 0, ProcessCost Cost = default);

    private static double PerOperation(long allocatedBefore, long operations) =>
        operations == 0 ? 0 : (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (double)operations;

    internal static async Task<Measured> BulkInAsync(int size, int inFlight, TimeSpan duration, (TlsServerOptions, TlsClientOptions)? tls = null)
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

    /// <summary>One end streams <paramref name="size"/>-byte writes, the other reads 256 KiB at a time, over a loopback pair.</summary>
    /// <param name="wrap">Null: the sockets' own streams (raw TCP). Else the streams to use over the sender's and receiver's sockets (TLS).</param>
    internal static async Task<Measured> RawStreamAsync(int size, TimeSpan duration, Func<Socket, Socket, Task<(Stream Sender, Stream Receiver)>>? wrap = null)
    {
        var (a, b) = await LoopbackSockets.PairAsync();
        var (sendStream, receiveStream) = wrap is null
            ? (new NetworkStream(a, ownsSocket: true), new NetworkStream(b, ownsSocket: true))
            : await wrap(a, b);
        using var memory = MemoryPeak.Sample();
        await using var sender = sendStream;
        await using var receiver = receiveStream;
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
            catch (ObjectDisposedException) when (stop.IsCancellationRequested) { }
        });
        long bytes = 0;
        var buffer = new byte[256 * 1024]; // the read size ByteStreamConnection uses
        while (sw.Elapsed < duration)
            bytes += await receiver.ReadAsync(buffer);
        var elapsed = sw.Elapsed;
        var perChunk = cost.PerOperation(bytes / size);
        stop.Cancel();
        a.Shutdown(SocketShutdown.Both);
        try
        {
            while (await receiver.ReadAsync(buffer) > 0) { }
        }
        catch (IOException) when (wrap is not null) { } // TLS: the peer went without close_notify
        await send;
        return new Measured(bytes / elapsed.TotalSeconds / 1e6, memory.Stop(), Cost: perChunk);
    }

    internal static async Task<Measured> ControlRoundTripAsync(TimeSpan duration, (TlsServerOptions, TlsClientOptions)? tls = null)
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

    /// <summary>A ping-pong of the usbredir control request's and reply's sizes over a loopback pair.</summary>
    /// <param name="wrap">Null: raw TCP. Else the streams to use over the client's and server's sockets (TLS).</param>
    internal static async Task<Measured> RawPingPongAsync(TimeSpan duration, Func<Socket, Socket, Task<(Stream Client, Stream Server)>>? wrap = null)
    {
        var (a, b) = await LoopbackSockets.PairAsync();
        var (clientStream, serverStream) = wrap is null
            ? (new NetworkStream(a, ownsSocket: true), new NetworkStream(b, ownsSocket: true))
            : await wrap(a, b);
        using var memory = MemoryPeak.Sample();
        await using var client = clientStream;
        await using var server = serverStream;
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
    internal sealed class SessionPair : IAsyncDisposable
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

        /// <summary>The TLS cipher suite of the link (null for plaintext), as the guest's end sees it.</summary>
        public string? CipherSuite => _guest.Connection.Security.IsTls ? _guest.Connection.Security.CipherSuite : null;

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
