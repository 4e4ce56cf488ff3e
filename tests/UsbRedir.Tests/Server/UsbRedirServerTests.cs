using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.MassStorage;
using UsbRedir.Filtering;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.Devices;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Server;

/// <summary>The server engine with our client (UsbRedirConnection) as the peer, over loopback TCP.</summary>
public class UsbRedirServerTests
{
    private static readonly ReconnectPolicy FastReconnect = new(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), null);

    private static UsbRedirServer StartServer(RecordingSink sink, string? filter = null, UsbRedirContext? context = null) => UsbRedirServer.Start(sink,
        new UsbRedirServerOptions
        {
            Address = IPAddress.Loopback,
            Port = 0,
            Filter = filter is null ? null : UsbRedirFilter.Parse(filter),
        }, context);

    private static UsbRedirEndpoint EndpointOf(UsbRedirServer server) => new("127.0.0.1", server.LocalEndPoint.Port);

    /// <summary>The server's first connection, running or already ended.</summary>
    private static async Task<UsbRedirServerConnection> FirstConnectionAsync(UsbRedirServer server)
    {
        UsbRedirServerConnection? First() => server.Connections.Concat(server.EndedConnections).FirstOrDefault();
        await Eventually.TrueAsync(() => First() is not null, "the server accepted a connection");
        return First()!;
    }

    private static async Task AttachedAsync(UsbRedirServerConnection connection)
    {
        await Eventually.TrueAsync(() => connection.State != ServerConnectionState.Attaching, "the connection is past attaching");
        Assert.Equal(ServerConnectionState.Attached, connection.State);
    }

    [Fact]
    public async Task A_pushed_disk_is_attached_and_the_sink_reads_its_sectors()
    {
        using var image = new TestImage(2048 * 512L, seed: 21);
        await using var disk = VirtualDevices.CreateDisk(image.Path);
        var sink = new RecordingSink();
        var context = new UsbRedirContext();
        await using var server = StartServer(sink, context: context);
        Assert.Equal([server], context.Servers.All);

        var client = await UsbRedirConnection.ConnectAsync(disk, EndpointOf(server), FastReconnect);
        var (connection, device) = await sink.NextAttachedAsync();
        await AttachedAsync(connection); // the sink is called while the connection is Attaching
        Assert.Same(device, connection.Device);
        // Which device the client pushed: product, vendor:product and serial number, in the list and in the log.
        var pushed = $"UsbRedir Virtual Disk (1209:0001, serial {disk.SerialNumber}) from 127.0.0.1:";
        Assert.StartsWith(pushed, connection.DeviceDescription);
        Assert.Contains(connection.Log.Entries, e => e.Message.StartsWith("attached " + pushed, StringComparison.Ordinal));
        Assert.Contains("UsbRedir", connection.PeerVersion);
        Assert.Same(connection, Assert.Single(server.Connections));

        var host = new UsbHostDriver(device);
        await host.EnumerateAsync();
        var bot = new BotHost(host);
        var capacity = await bot.RunAsync(Cdb.ReadCapacity10(), 8, dataIn: true);
        Assert.Equal(2047u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data));
        var read = await bot.RunAsync(Cdb.Read10(1000, 128), 128 * 512, dataIn: true, chunk: 32768);
        Assert.Equal(CommandStatus.Passed, read.Csw.Status);
        Assert.Equal(image.Contents.AsSpan(1000 * 512, 128 * 512).ToArray(), read.Data);
        Assert.True(connection.BytesReceived > 128 * 512);
        Assert.True(connection.TransfersSent >= 6 && connection.TransfersReceived >= 6);
        Assert.Equal(0, connection.ErrorCount);

        // Disconnect: device_disconnect, our ack, the sink detaches; the client is told its disconnect was acknowledged.
        await client.DisconnectAsync(TimeSpan.FromSeconds(5));
        Assert.Same(device, await sink.NextDetachedAsync());
        Assert.DoesNotContain(client.Log.Entries, e => e.Message.Contains("did not acknowledge"));
        await connection.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ServerConnectionState.Closed, connection.State);
        Assert.Null(connection.Device);
        Assert.Empty(server.Connections);
        Assert.Same(connection, Assert.Single(server.EndedConnections));
        Assert.Equal(1, server.ConnectionsAccepted);
    }

    [Fact]
    public async Task A_device_the_filter_refuses_gets_filter_reject_and_its_connection_is_closed()
    {
        using var image = new TestImage(64 * 512L);
        await using var disk = VirtualDevices.CreateDisk(image.Path);
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var sink = new RecordingSink();
        await using var server = StartServer(sink, "0x08,-1,-1,-1,0|-1,-1,-1,-1,1"); // no mass storage, anything else

        var refused = await UsbRedirConnection.ConnectAsync(disk, EndpointOf(server), FastReconnect);
        await refused.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Rejected, refused.State);
        Assert.Equal(0, sink.AttachCount);

        var accepted = await UsbRedirConnection.ConnectAsync(keyboard, EndpointOf(server), FastReconnect);
        var (connection, device) = await sink.NextAttachedAsync();
        Assert.Equal(VirtualDevices.KeyboardProductId, ((RemoteUsbDevice)device).ProductId);
        await AttachedAsync(connection);
        Assert.Equal(2, server.ConnectionsAccepted); // the refused one was accepted, then closed
        await accepted.DisconnectAsync(TimeSpan.FromSeconds(5));
        await sink.NextDetachedAsync();
    }

    [Fact]
    public async Task The_refused_connection_reports_why()
    {
        using var image = new TestImage(64 * 512L);
        await using var disk = VirtualDevices.CreateDisk(image.Path);
        var sink = new RecordingSink();
        await using var server = StartServer(sink, "0x08,-1,-1,-1,0");
        var client = await UsbRedirConnection.ConnectAsync(disk, EndpointOf(server), FastReconnect);
        var seen = await FirstConnectionAsync(server);
        await seen.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ServerConnectionState.Rejected, seen.State);
        Assert.Equal(1, seen.DevicesRejected);
        Assert.Contains("00:1209:0001:0100 [08/06/50]", seen.LastRejection); // judged by its configuration descriptor
        Assert.Contains("Denied by rule 0", seen.LastRejection);
        Assert.Contains(seen.Log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("filter refused"));
        await client.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Rejected, client.State);
    }

    [Fact]
    public async Task A_dropped_link_is_reconnected_and_the_device_attached_again()
    {
        var device = new Sessions.LoopbackTestDevice();
        var sink = new RecordingSink();
        await using var server = StartServer(sink);
        var client = await UsbRedirConnection.ConnectAsync(device, EndpointOf(server), FastReconnect);
        var (first, firstDevice) = await sink.NextAttachedAsync();

        await first.CloseAsync(TimeSpan.FromSeconds(5)); // the link drops (server side)
        Assert.Same(firstDevice, await sink.NextDetachedAsync());
        Assert.True(firstDevice.Gone.IsCancellationRequested);

        var (second, secondDevice) = await sink.NextAttachedAsync();
        Assert.NotSame(first, second);
        Assert.Equal(Sessions.LoopbackTestDevice.Descriptor, secondDevice.DeviceDescriptor.ToArray());
        Assert.Equal(UsbStatus.Success, await secondDevice.SetConfigurationAsync(1, default));
        Assert.Equal(UsbTransferResult.Ok(2), await secondDevice.TransferAsync(0x01, new byte[] { 4, 2 }, default));
        Assert.Equal(1, client.Reconnects); // counted before the new session sent anything, so before this attach
        Assert.Equal(2, server.ConnectionsAccepted);
        await client.DisconnectAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Stop_detaches_every_device_closes_every_connection_and_frees_the_port()
    {
        using var image = new TestImage(64 * 512L);
        await using var disk = VirtualDevices.CreateDisk(image.Path);
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var sink = new RecordingSink();
        var context = new UsbRedirContext();
        var server = StartServer(sink, context: context);
        var port = server.LocalEndPoint.Port;
        var clients = new[]
        {
            await UsbRedirConnection.ConnectAsync(disk, EndpointOf(server), ReconnectPolicy.Never),
            await UsbRedirConnection.ConnectAsync(keyboard, EndpointOf(server), ReconnectPolicy.Never),
        };
        var attached = new[] { await sink.NextAttachedAsync(), await sink.NextAttachedAsync() };
        foreach (var (_, device) in attached)
            Assert.Equal(UsbStatus.Success, await device.SetConfigurationAsync(1, default));
        // SET_IDLE 0, as usbhid sends it: otherwise the keyboard repeats its report every 500 ms, and on a slow
        // machine that repeat, not the stop, could answer the keyboard's read below.
        var keyboardSide = attached.Single(a => a.Device.Description.Contains("keyboard", StringComparison.OrdinalIgnoreCase)).Device;
        Assert.Equal(UsbStatus.Success, (await keyboardSide.ControlTransferAsync(new UsbSetupPacket(0x21, 0x0A, 0, 0, 0), Memory<byte>.Empty, default)).Status);
        Assert.Equal(0, keyboard.IdleRate);
        // Reads with nothing to read yet (no CBW sent, no key pressed): they must still complete when the server stops.
        var pending = attached.Select(a => a.Device.TransferAsync(0x81, new byte[64], default)).ToArray();

        await server.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(server.Completion.IsCompleted);
        Assert.False(server.IsRunning);
        Assert.Equal(2, sink.DetachCount);
        Assert.Empty(server.Connections);
        Assert.All(attached, a => Assert.Contains(a.Connection.State, new[] { ServerConnectionState.Closed, ServerConnectionState.Failed }));
        foreach (var t in pending)
            Assert.Contains((await t.WaitAsync(TestDeadline.Default)).Status, new[] { UsbStatus.IoError, UsbStatus.Cancelled });
        Assert.Empty(context.Servers.All);
        // A stopped server still says where it listened (Stop-UsbRedirServer and its views print it).
        Assert.Equal(port, server.LocalEndPoint.Port);
        Assert.Contains($":{port} ", server.ToString() + " ");
        foreach (var c in clients)
            await c.Completion.WaitAsync(TestDeadline.Default);

        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task A_sink_that_refuses_the_device_closes_the_connection_with_its_error()
    {
        var sink = new RecordingSink
        {
            Refusal = new UsbRedirException("NoFreePort", UsbRedirErrorCategory.ResourceBusy, "All 4 ports of the controller are in use.",
                "Unplug a device or start the server with more ports."),
        };
        await using var server = StartServer(sink);
        var client = await UsbRedirConnection.ConnectAsync(new Sessions.LoopbackTestDevice(), EndpointOf(server), ReconnectPolicy.Never);
        var connection = await FirstConnectionAsync(server);
        await connection.Completion.WaitAsync(TestDeadline.Default);
        Assert.Equal(ServerConnectionState.Failed, connection.State);
        Assert.Contains("All 4 ports of the controller are in use.", connection.LastError);
        Assert.Contains("more ports", connection.LastError);
        Assert.Equal(0, sink.DetachCount);
        await client.Completion.WaitAsync(TestDeadline.Default);
    }

    [Fact]
    public async Task A_port_in_use_fails_with_a_named_error()
    {
        var sink = new RecordingSink();
        await using var first = StartServer(sink);
        var e = Assert.Throws<UsbRedirException>(() => UsbRedirServer.Start(sink,
            new UsbRedirServerOptions { Address = IPAddress.Loopback, Port = first.LocalEndPoint.Port }));
        Assert.Equal("ServerPortInUse", e.ErrorId);
        var bad = Assert.Throws<UsbRedirException>(() => UsbRedirServer.Start(sink, new UsbRedirServerOptions { Port = 70000 }));
        Assert.Equal("ServerPortInvalid", bad.ErrorId);
    }
}
