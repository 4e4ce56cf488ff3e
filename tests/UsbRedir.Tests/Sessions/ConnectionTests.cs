using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using UsbRedir.Sessions;
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
            await Guests.Reader.ReadAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);

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
        var connection = await UsbRedirConnection.ConnectAsync(device, server.Endpoint, policy);
        Assert.Contains(connection, ConnectionRegistry.All);
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
        await disconnect.WaitAsync(TimeSpan.FromSeconds(10));
        await connection.Completion.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(ConnectionState.Disconnected, connection.State);
        Assert.DoesNotContain(connection, ConnectionRegistry.All);
        Assert.True(connection.BytesSent > 0);
        Assert.False(device.Gone.IsCancellationRequested); // the device stays usable
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
        await connection.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ConnectionState.Rejected, connection.State);
        Assert.Contains("rejected", connection.LastError);
    }

    [Fact]
    public async Task The_first_connect_fails_at_once_with_the_cause()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var device = new LoopbackTestDevice();
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => UsbRedirConnection.ConnectAsync(device, new UsbRedirEndpoint("127.0.0.1", port)));
        Assert.Equal("ConnectionRefused", e.ErrorId);
        Assert.DoesNotContain(ConnectionRegistry.All, c => ReferenceEquals(c.Device, device));
    }

    [Fact]
    public async Task One_device_cannot_be_pushed_twice()
    {
        await using var server = new GuestServer();
        var device = new LoopbackTestDevice();
        var connection = await UsbRedirConnection.ConnectAsync(device, server.Endpoint);
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => UsbRedirConnection.ConnectAsync(device, server.Endpoint));
        Assert.Equal("DeviceAlreadyConnected", e.ErrorId);
        await connection.DisconnectAsync(TimeSpan.FromMilliseconds(500));
    }
}
