using System.Net;
using System.Net.Sockets;
using UsbRedir.Devices;
using UsbRedir.Devices.Sources;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// A connection over a device source re-exports a device that went away and came back (auto re-attach), and a
/// connection can listen for its peer (usbredirect's --as) instead of connecting: one peer at a time, the next one
/// served when it leaves. Scripted usb-guest peers over real loopback sockets.
/// </summary>
public class ReattachAndListenTests
{
    /// <summary>
    /// A device that can be unplugged and plugged in again: while plugged, opening yields a new
    /// <see cref="LoopbackTestDevice"/> (a re-opened local device is a new object too); every one opened is recorded.
    /// </summary>
    private sealed class Replug
    {
        private volatile bool _plugged = true;
        public readonly List<LoopbackTestDevice> Opened = [];
        public int Tries;

        public ReopeningUsbDeviceSource Source { get; }

        public Replug() => Source = new ReopeningUsbDeviceSource("test 1234:5678 serial 1", Open,
            new ReconnectPolicy(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50), null));

        private Task<IUsbDevice?> Open(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Tries);
            if (!_plugged)
                return Task.FromResult<IUsbDevice?>(null);
            var device = new LoopbackTestDevice();
            lock (Opened)
                Opened.Add(device);
            return Task.FromResult<IUsbDevice?>(device);
        }

        public LoopbackTestDevice Current { get { lock (Opened) return Opened[^1]; } }

        public void Unplug()
        {
            _plugged = false;
            Current.Unplug();
        }

        public void PlugIn()
        {
            _plugged = true;
            Source.NotifyChanged();
        }
    }

    [Fact]
    public async Task A_device_that_comes_back_is_exported_again_until_disconnected()
    {
        await using var server = new GuestListener();
        var replug = new Replug();
        var context = new UsbRedirContext();
        var connection = await UsbRedirConnection.ConnectAsync(replug.Source, UsbRedirEndpoint.Parse(server.Address),
            new ReconnectPolicy(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50), null), context: context);
        Assert.Equal("test 1234:5678 serial 1", connection.DeviceIdentity);
        var first = await server.NextGuestAsync();
        await first.ExpectAnnouncementAsync();
        var firstDevice = replug.Current;
        Assert.Same(firstDevice, connection.Device);
        var states = new List<ConnectionState>();
        connection.StateChanged += (_, state) => { lock (states) states.Add(state); };
        connection.StateChanged += (_, _) => throw new InvalidOperationException("a broken handler");

        replug.Unplug();
        // The peer is told, its acknowledgement awaited, then the link is closed and the device handed back.
        await first.ExpectAsync(T.DeviceDisconnect);
        first.Do(c => c.SendDeviceDisconnectAck());
        await first.Closed.WaitAsync(TestDeadline.Default);
        await Eventually.TrueAsync(() => connection.State == ConnectionState.WaitingForDevice, "the connection waits for the device");
        var triesWhileAway = replug.Tries;
        await Eventually.TrueAsync(() => replug.Tries > triesWhileAway + 1, "the source keeps trying while the device is away");
        Assert.Equal(0, connection.Reattachments);

        replug.PlugIn();
        var second = await server.NextGuestAsync();
        await using var _ = second;
        await second.ExpectAnnouncementAsync();
        Assert.Equal(ConnectionState.Connected, connection.State);
        Assert.Equal(1, connection.Reattachments);
        Assert.Equal(0, connection.Reconnects); // a new device on a new link, not a reconnect
        Assert.NotSame(firstDevice, replug.Current);
        Assert.Same(replug.Current, connection.Device);
        Assert.Contains(connection.Log.Entries, e => e.Message.Contains("waiting for test 1234:5678 serial 1"));
        // What the source says while it waits is in the connection's log, as a warning.
        replug.Source.Report("waiting for test 1234:5678 serial 1: 1234:5678 at 1-2 has serial number 2, not 1: another device, not taken");
        Assert.Contains(connection.Log.Entries, e => e.Level == SessionLogLevel.Warning && e.Message.Contains("at 1-2 has serial number 2"));

        var disconnect = connection.DisconnectAsync(TimeSpan.FromSeconds(5));
        await second.ExpectAsync(T.DeviceDisconnect);
        second.Do(c => c.SendDeviceDisconnectAck());
        await disconnect.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Disconnected, connection.State);
        lock (states)
            Assert.Equal([ConnectionState.WaitingForDevice, ConnectionState.Connecting, ConnectionState.Connected, ConnectionState.Disconnected], states);
        Assert.Single(connection.Log.Entries, e => e.Message.Contains("StateChanged handler failed and was removed: a broken handler"));
        // The source opened it, so the source closed it when the connection was done with it.
        Assert.True(replug.Current.Gone.IsCancellationRequested);
        Assert.DoesNotContain(connection, context.Connections.All);
    }

    [Fact]
    public async Task A_network_drop_while_the_device_is_away_waits_for_the_device_then_connects()
    {
        await using var server = new GuestListener();
        var replug = new Replug();
        var connection = await UsbRedirConnection.ConnectAsync(replug.Source, UsbRedirEndpoint.Parse(server.Address),
            new ReconnectPolicy(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50), null));
        var first = await server.NextGuestAsync();
        await first.ExpectAnnouncementAsync();
        await first.DisposeAsync(); // the link drops
        var second = await server.NextGuestAsync();
        await second.ExpectAnnouncementAsync();
        Assert.Equal(1, connection.Reconnects);

        replug.Unplug();
        await second.ExpectAsync(T.DeviceDisconnect);
        await second.DisposeAsync(); // the peer goes without acknowledging
        await Eventually.TrueAsync(() => connection.State == ConnectionState.WaitingForDevice, "the connection waits for the device");
        // No connection is made while the device is away.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server.NextGuestAsync(TimeSpan.FromMilliseconds(300)));

        replug.PlugIn();
        var third = await server.NextGuestAsync();
        await using var _ = third;
        await third.ExpectAnnouncementAsync();
        Assert.Equal(1, connection.Reattachments);
        await connection.DisconnectAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_reopening_source_wakes_on_NotifyChanged_stops_on_cancel_and_closes_what_it_opened()
    {
        var present = false;
        var tries = 0;
        var source = new ReopeningUsbDeviceSource("hot-plugged", _ =>
        {
            Interlocked.Increment(ref tries);
            return Task.FromResult<IUsbDevice?>(Volatile.Read(ref present) ? new LoopbackTestDevice() : null);
        }, new ReconnectPolicy(TimeSpan.FromHours(1), TimeSpan.FromHours(1), null));

        // An hour between tries: only NotifyChanged can make the second one come.
        var acquiring = source.AcquireAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => Volatile.Read(ref tries) == 1, "the first try");
        Assert.False(acquiring.IsCompleted);
        Assert.Equal(1, source.FailedTries);
        Volatile.Write(ref present, true);
        source.NotifyChanged();
        var device = await acquiring.WaitAsync(TestDeadline.Default);
        Assert.NotNull(device);
        Assert.Equal(2, tries);
        Assert.Equal(0, source.FailedTries);
        await source.ReleaseAsync(device);
        Assert.True(device.Gone.IsCancellationRequested); // opened by the source, so closed by it

        Volatile.Write(ref present, false);
        using var stop = new CancellationTokenSource();
        var waiting = source.AcquireAsync(stop.Token);
        await Eventually.TrueAsync(() => Volatile.Read(ref tries) == 3, "the next try");
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TestDeadline.Default));
    }

    /// <summary>A watch function as a hot-plug watcher: records its starts and ends, and lets the test raise a plug.</summary>
    private sealed class FakeWatcher
    {
        private Action? _changed;
        public int Started, Disposed;

        public IDisposable? Start(Action changed)
        {
            Interlocked.Increment(ref Started);
            Volatile.Write(ref _changed, changed);
            return new End(this);
        }

        public void Plug() => Volatile.Read(ref _changed)!();

        private sealed class End(FakeWatcher owner) : IDisposable
        {
            public void Dispose() => Interlocked.Increment(ref owner.Disposed);
        }
    }

    [Fact]
    public async Task A_reopening_source_runs_its_watcher_while_it_waits_and_a_plug_brings_the_next_try_at_once()
    {
        var present = false;
        var tries = 0;
        var watcher = new FakeWatcher();
        var initial = new LoopbackTestDevice();
        var source = new ReopeningUsbDeviceSource("watched", _ =>
        {
            Interlocked.Increment(ref tries);
            return Task.FromResult<IUsbDevice?>(Volatile.Read(ref present) ? new LoopbackTestDevice() : null);
        }, new ReconnectPolicy(TimeSpan.FromHours(1), TimeSpan.FromHours(1), null), initial, watcher.Start);

        // The device opened first needs no watching.
        Assert.Same(initial, await source.AcquireAsync(CancellationToken.None));
        Assert.Equal(0, watcher.Started);

        // Gone: the watcher runs while the source waits (an hour between tries: only its plug brings the next one).
        var acquiring = source.AcquireAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => Volatile.Read(ref tries) == 1, "the first try");
        Assert.Equal(1, watcher.Started);
        Volatile.Write(ref present, true);
        watcher.Plug();
        var device = await acquiring.WaitAsync(TestDeadline.Default);
        Assert.NotNull(device);
        Assert.Equal(2, tries);
        await Eventually.TrueAsync(() => Volatile.Read(ref watcher.Disposed) == 1, "the watcher ends once the device is back");
        await source.ReleaseAsync(device);

        // Stopped while waiting: the watcher ends too.
        Volatile.Write(ref present, false);
        using var stop = new CancellationTokenSource();
        var waiting = source.AcquireAsync(stop.Token);
        await Eventually.TrueAsync(() => Volatile.Read(ref tries) == 3, "the next try");
        Assert.Equal(2, watcher.Started);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TestDeadline.Default));
        await Eventually.TrueAsync(() => Volatile.Read(ref watcher.Disposed) == 2, "the watcher ends with the wait");
    }

    /// <summary>Exports <paramref name="device"/> from <paramref name="source"/>, unplugs it once announced, acknowledges the peer's device_disconnect, and waits for the connection to end.</summary>
    private static async Task<(UsbRedirConnection Connection, ScriptedPeer Guest)> ExportAndUnplugAsync(GuestListener server, IUsbDeviceSource source,
        LoopbackTestDevice device, UsbRedirContext? context = null)
    {
        var connection = await UsbRedirConnection.ConnectAsync(source, UsbRedirEndpoint.Parse(server.Address), context: context);
        var guest = await server.NextGuestAsync();
        await guest.ExpectAnnouncementAsync();
        device.Unplug();
        await guest.ExpectAsync(T.DeviceDisconnect);
        guest.Do(c => c.SendDeviceDisconnectAck());
        await connection.Completion.WaitAsync(TestDeadline.Default);
        return (connection, guest);
    }

    [Fact]
    public async Task A_fixed_device_that_goes_away_ends_the_connection_and_stays_its_owners()
    {
        await using var server = new GuestListener();
        var device = new LoopbackTestDevice();
        var context = new UsbRedirContext();
        var (connection, guest) = await ExportAndUnplugAsync(server, new FixedUsbDeviceSource(device), device, context);
        Assert.Equal(ConnectionState.Disconnected, connection.State);
        Assert.Same(device, connection.Device); // still shown, for the record
        await guest.Closed.WaitAsync(TestDeadline.Default);
        Assert.Contains(connection, context.Connections.All); // ended by itself: listed until disconnected
        await connection.DisconnectAsync(TimeSpan.Zero);
        Assert.Empty(context.Connections.All);
    }

    [Fact]
    public async Task A_source_that_gives_up_ends_the_connection()
    {
        await using var server = new GuestListener();
        var device = new LoopbackTestDevice();
        var tries = 0;
        var source = new ReopeningUsbDeviceSource("gives up", _ => { Interlocked.Increment(ref tries); return Task.FromResult<IUsbDevice?>(null); },
            new ReconnectPolicy(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), 2), initial: device);
        var (connection, _) = await ExportAndUnplugAsync(server, source, device);
        Assert.Equal(ConnectionState.Disconnected, connection.State);
        Assert.Equal(3, tries); // the first try and the two retries the policy allows
        Assert.Contains(connection.Log.Entries, e => e.Message.Contains("will not come back"));
        await connection.DisconnectAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task A_listening_connection_serves_one_peer_at_a_time_and_waits_for_the_next()
    {
        var device = new LoopbackTestDevice();
        var connection = await UsbRedirConnection.ListenAsync(device, new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            Assert.Null(connection.Server);
            Assert.Equal($"listen 127.0.0.1:{connection.ListenEndPoint!.Port}", connection.Target);
            Assert.Equal(ConnectionState.Listening, connection.State);
            var at = new UsbRedirEndpoint("127.0.0.1", connection.ListenEndPoint.Port);

            var first = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
            await first.ExpectAnnouncementAsync();
            Assert.Equal(ConnectionState.Connected, connection.State);
            Assert.NotNull(connection.Peer);

            // A second peer while the first is served waits its turn (no hello yet); a third is closed at once.
            var next = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
            await using var _ = next;
            await Eventually.TrueAsync(() => connection.Log.Entries.Any(e => e.Message.Contains("waits until")), "the second peer is queued");
            var intruder = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
            await intruder.Closed.WaitAsync(TestDeadline.Default);
            Assert.Null(intruder.Codec.PeerVersion);
            await intruder.DisposeAsync();
            Assert.Contains(connection.Log.Entries, e => e.Message.Contains("one peer at a time"));
            Assert.Null(next.Codec.PeerVersion);

            await first.DisposeAsync(); // the peer leaves: the waiting one gets the device
            await next.ExpectAnnouncementAsync();
            Assert.Equal(1, connection.Reconnects);
            Assert.Contains(connection.Log.Entries, e => e.Message.Contains("waiting for the next"));

            // The last peer leaves: listening again, with nobody served.
            var last = next;
            await last.DisposeAsync();
            await Eventually.TrueAsync(() => connection.State == ConnectionState.Listening, "the connection listens again");
            Assert.Null(connection.Peer);
            next = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
            await using var __ = next;
            await next.ExpectAnnouncementAsync();
            Assert.Equal(2, connection.Reconnects);

            var disconnect = connection.DisconnectAsync(TimeSpan.FromSeconds(5));
            await next.ExpectAsync(T.DeviceDisconnect);
            next.Do(c => c.SendDeviceDisconnectAck());
            await disconnect.WaitAsync(TestDeadline.Default);
            await next.Closed.WaitAsync(TestDeadline.Default);
            Assert.Equal(ConnectionState.Disconnected, connection.State);
            // It no longer listens.
            var refused = await Assert.ThrowsAsync<UsbRedirException>(() => TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
            Assert.Equal("ConnectionRefused", refused.ErrorId);
            Assert.False(device.Gone.IsCancellationRequested);
        }
        finally
        {
            await connection.DisconnectAsync(TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task A_listening_connection_re_exports_a_device_that_came_back_to_the_next_peer()
    {
        var replug = new Replug();
        var connection = await UsbRedirConnection.ListenAsync(replug.Source, new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            var at = new UsbRedirEndpoint("127.0.0.1", connection.ListenEndPoint!.Port);
            var first = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
            await first.ExpectAnnouncementAsync();

            replug.Unplug();
            await first.ExpectAsync(T.DeviceDisconnect);
            first.Do(c => c.SendDeviceDisconnectAck());
            await first.Closed.WaitAsync(TestDeadline.Default); // closed, as usbredirect does; QEMU's chardev reconnects
            await first.DisposeAsync();
            await Eventually.TrueAsync(() => connection.State == ConnectionState.WaitingForDevice, "the connection waits for the device");

            // The peer reconnects while the device is still away: it waits, taken, for the device.
            var next = ScriptedPeer.FromSocket(await TcpConnector.ConnectAsync(at, null, TimeSpan.FromSeconds(10), CancellationToken.None));
            await using var _ = next;
            Assert.True(await next.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
            replug.PlugIn();
            await next.ExpectAnnouncementAsync();
            Assert.Equal(ConnectionState.Connected, connection.State);
            Assert.Equal(1, connection.Reattachments);
        }
        finally
        {
            await connection.DisconnectAsync(TimeSpan.FromMilliseconds(200));
        }
        Assert.True(replug.Current.Gone.IsCancellationRequested);
    }

    [Fact]
    public async Task Listening_on_a_port_in_use_fails_at_once_with_the_cause()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var device = new LoopbackTestDevice();
        var context = new UsbRedirContext();
        var e = await Assert.ThrowsAsync<UsbRedirException>(() =>
            UsbRedirConnection.ListenAsync(device, (IPEndPoint)taken.LocalEndPoint!, context: context));
        Assert.Equal("ServerPortInUse", e.ErrorId);
        Assert.Empty(context.Connections.All);
    }
}
