using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

public class ConnectionTests
{
    private sealed class GuestServer : IAsyncDisposable
    {
        private readonly TcpServerListener _listener;
        private readonly CancellationTokenSource _cts = new();
        public readonly Channel<ScriptedPeer> Guests = Channel.CreateUnbounded<ScriptedPeer>();

        public GuestServer()
        {
            _listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
            _ = _listener.AcceptLoopAsync((s, _) => { Guests.Writer.TryWrite(ScriptedPeer.FromSocket(s)); return Task.CompletedTask; }, _ => { }, _cts.Token);
        }

        public UsbRedirEndpoint Endpoint => new("127.0.0.1", _listener.LocalEndPoint.Port);

        public async Task<ScriptedPeer> NextGuestAsync() =>
            await Guests.Reader.ReadAsync(new CancellationTokenSource(TestDeadline.Default).Token);

        public async ValueTask DisposeAsync()
        {
            _cts.Cancel();
            await _listener.DisposeAsync();
        }
    }

    [Fact]
    public async Task Reconnects_after_a_drop_and_disconnect_waits_for_the_ack()
    {
        await using var server = new GuestServer();
        var device = new LoopbackTestDevice();
        var policy = new ReconnectPolicy(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), null);
        var context = new UsbRedirContext();
        var connection = await UsbRedirConnection.ConnectAsync(device, server.Endpoint, policy, context: context);
        Assert.Contains(connection, context.Connections.All);
        Assert.Equal(ConnectionState.Connected, connection.State);

        var first = await server.NextGuestAsync();
        await first.ExpectAnnouncementAsync();
        await first.DisposeAsync(); // the peer dies

        var second = await server.NextGuestAsync();
        await using var _ = second;
        await second.ExpectAnnouncementAsync();
        Assert.Equal(1, connection.Reconnects);
        Assert.Equal(ConnectionState.Connected, connection.State);
        Assert.Contains("UsbRedir", second.Codec.PeerVersion);

        var disconnect = connection.DisconnectAsync(TimeSpan.FromSeconds(5));
        await second.ExpectAsync(T.DeviceDisconnect);
        second.Do(c => c.SendDeviceDisconnectAck());
        await disconnect.WaitAsync(TestDeadline.Default);
        await connection.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Disconnected, connection.State);
        Assert.DoesNotContain(connection, context.Connections.All);
        Assert.True(connection.BytesSent > 0);
        Assert.False(device.Gone.IsCancellationRequested); // the device stays usable
    }

    [Fact]
    public async Task Disconnect_while_a_reconnect_has_just_connected_leaves_no_session_open()
    {
        await using var server = new GuestServer();
        // The second connect completes (a real socket to the server) and then waits for the test before handing the
        // socket over: the moment when a reconnect has connected but not yet started its session.
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = 0;
        async Task<Socket> Connect(CancellationToken token)
        {
            var socket = await TcpConnector.ConnectAsync(server.Endpoint, null, TimeSpan.FromSeconds(10), token);
            if (Interlocked.Increment(ref attempts) == 2)
            {
                reconnected.SetResult();
                await handOver.Task; // deliberately deaf to the token: the connect finished before the disconnect came
            }
            return socket;
        }
        var context = new UsbRedirContext();
        var connection = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), server.Endpoint,
            new ReconnectPolicy(TimeSpan.Zero, TimeSpan.Zero, null), null, null, Connect, CancellationToken.None, context);
        var first = await server.NextGuestAsync();
        await first.ExpectAnnouncementAsync();
        await first.DisposeAsync(); // the peer dies: the connection reconnects

        await reconnected.Task.WaitAsync(TestDeadline.Default);
        var second = await server.NextGuestAsync();
        await using var _ = second;
        var disconnect = connection.DisconnectAsync(TimeSpan.FromSeconds(5)); // stops the connection before it returns
        handOver.SetResult();
        await disconnect.WaitAsync(TestDeadline.Default);

        // The late socket must be closed unused: the server sees the connection end without a hello or an announcement.
        await second.Closed.WaitAsync(TestDeadline.Default);
        Assert.Null(second.Codec.PeerVersion); // no hello came
        Assert.True(connection.Completion.IsCompleted);
        Assert.Equal(ConnectionState.Disconnected, connection.State);
        Assert.Equal(0, connection.Reconnects);
        Assert.DoesNotContain(connection, context.Connections.All);
    }

    [Fact]
    public async Task A_rejected_device_is_not_retried()
    {
        await using var server = new GuestServer();
        var connection = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), server.Endpoint,
            new ReconnectPolicy(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), null));
        var guest = await server.NextGuestAsync();
        await using var _ = guest;
        await guest.ExpectAnnouncementAsync();
        guest.Do(c => c.SendFilterReject());
        await guest.ExpectAsync(T.DeviceDisconnect);
        guest.Do(c => c.SendDeviceDisconnectAck());
        await guest.DisposeAsync();
        await connection.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Rejected, connection.State);
        Assert.Contains("rejected", connection.LastError);
    }

    [Fact]
    public async Task The_first_connect_fails_at_once_with_the_cause()
    {
        using var closed = new ClosedLoopbackPort();
        var device = new LoopbackTestDevice();
        var context = new UsbRedirContext();
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => UsbRedirConnection.ConnectAsync(device, new UsbRedirEndpoint("127.0.0.1", closed.Port),
            context: context));
        Assert.Equal("ConnectionRefused", e.ErrorId);
        Assert.Empty(context.Connections.All);
    }

    [Fact]
    public async Task One_device_cannot_be_pushed_twice()
    {
        await using var server = new GuestServer();
        var device = new LoopbackTestDevice();
        var context = new UsbRedirContext();
        var connection = await UsbRedirConnection.ConnectAsync(device, server.Endpoint, context: context);
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => UsbRedirConnection.ConnectAsync(device, server.Endpoint, context: context));
        Assert.Equal("DeviceAlreadyConnected", e.ErrorId);
        Assert.Equal([connection], context.Connections.All);
        await connection.DisconnectAsync(TimeSpan.FromMilliseconds(500));
    }
}
