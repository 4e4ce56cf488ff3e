using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Transport;

public class TcpTransportTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task Bytes_cross_loopback_intact_both_ways(string address)
    {
        await using var listener = TcpServerListener.Start(IPAddress.Parse(address), 0, TcpKeepAlive.Default);
        var serverSide = new TaskCompletionSource<Socket>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        _ = listener.AcceptLoopAsync((s, _) => { serverSide.TrySetResult(s); return Task.CompletedTask; }, e => serverSide.TrySetException(e), cts.Token);

        var endpoint = new UsbRedirEndpoint(address, listener.LocalEndPoint.Port);
        var clientSocket = await TcpConnector.ConnectAsync(endpoint, TcpKeepAlive.Default, TimeSpan.FromSeconds(5), cts.Token);
        Assert.True((int)clientSocket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)! != 0);
        await using var client = ByteStreamConnection.FromSocket(clientSocket, maxQueuedBytes: 64 * 1024);
        await using var server = ByteStreamConnection.FromSocket(await serverSide.Task, maxQueuedBytes: 64 * 1024);

        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var received = new MemoryStream();
        var done = new TaskCompletionSource();
        server.Start(chunk =>
        {
            received.Write(chunk.Span);
            if (received.Length == payload.Length) done.TrySetResult();
            return ValueTask.CompletedTask;
        });
        client.Start(_ => ValueTask.CompletedTask);
        for (var off = 0; off < payload.Length; off += 100_000)
            await client.Outgoing.EnqueueAsync(payload.AsMemory(off, Math.Min(100_000, payload.Length - off)), cts.Token);
        await done.Task.WaitAsync(cts.Token);
        Assert.Equal(payload, received.ToArray());
        Assert.Equal(payload.Length, server.BytesReceived);

        client.Close();
        Assert.Null(await server.Completion.WaitAsync(cts.Token)); // orderly close seen by the peer
    }

    [Fact]
    public async Task Connecting_to_a_closed_port_names_the_cause()
    {
        using var closed = new ClosedLoopbackPort();
        var e = await Assert.ThrowsAsync<UsbRedirException>(() =>
            TcpConnector.ConnectAsync(new UsbRedirEndpoint("127.0.0.1", closed.Port), null, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal("ConnectionRefused", e.ErrorId);
        Assert.Contains(closed.Address, e.Message);
    }

    [Fact]
    public async Task Listening_on_a_used_port_names_the_cause()
    {
        await using var first = TcpServerListener.Start(IPAddress.Loopback, 0, null);
        var e = Assert.Throws<UsbRedirException>(() => TcpServerListener.Start(IPAddress.Loopback, first.LocalEndPoint.Port, null));
        Assert.Equal("ServerPortInUse", e.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.ResourceBusy, e.Category);
    }

    [Fact]
    public async Task A_failing_handler_does_not_stop_the_accept_loop()
    {
        await using var listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
        var errors = 0;
        var accepted = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var second = new TaskCompletionSource();
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = listener.AcceptLoopAsync((s, _) =>
        {
            if (Interlocked.Increment(ref accepted) == 1) throw new InvalidOperationException("boom");
            s.Dispose();
            second.TrySetResult();
            return Task.CompletedTask;
        }, _ =>
        {
            Interlocked.Increment(ref errors);
            failed.TrySetResult();
        }, cts.Token);
        var endpoint = new UsbRedirEndpoint("127.0.0.1", listener.LocalEndPoint.Port);
        using var c1 = await TcpConnector.ConnectAsync(endpoint, null, TimeSpan.FromSeconds(5), cts.Token);
        using var c2 = await TcpConnector.ConnectAsync(endpoint, null, TimeSpan.FromSeconds(5), cts.Token);
        await second.Task.WaitAsync(cts.Token);
        // Each accepted socket is handled on a thread of its own: the failing handler's error may come after the second
        // handler is done.
        await failed.Task.WaitAsync(cts.Token);
        Assert.Equal(1, Volatile.Read(ref errors));
    }
}
