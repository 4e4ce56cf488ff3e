using System.Net.Sockets;
using UsbRedir.Devices;
using UsbRedir.Transport;

namespace UsbRedir.Sessions;

/// <summary>
/// A device pushed to a usb-guest peer (a UsbRedir server, or QEMU's usb-redir chardev in server mode) that lives in
/// the background: it connects, exports the device with the usb-host role, and when the link drops it reconnects with
/// backoff until disconnected, the device goes away, or the peer's filter rejects the device.
/// <para>Every background step is guarded: failures end up in <see cref="State"/>, <see cref="LastError"/> and
/// <see cref="Log"/>, never as an exception on a thread nobody waits for.</para>
/// </summary>
public sealed class UsbRedirConnection
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ReconnectPolicy _reconnect;
    private readonly TcpKeepAlive? _keepAlive;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<CancellationToken, Task<Socket>> _connect;
    // Publishing a new session and stopping are atomic under it: either the opener sees the stop and closes its fresh
    // socket, or DisconnectAsync sees the session and closes it. Without it a reconnect whose connect finished just
    // as DisconnectAsync ran could start a session nobody would ever close.
    private readonly object _sessionGate = new();
    private volatile UsbRedirHostSession? _session;
    private int _reconnects;
    private long _bytesSentBefore, _bytesReceivedBefore, _packetsSentBefore, _packetsReceivedBefore;

    private UsbRedirConnection(IUsbDevice device, UsbRedirEndpoint server, ReconnectPolicy reconnect, TcpKeepAlive? keepAlive,
        Action<SessionLogEntry>? logListener, Func<CancellationToken, Task<Socket>>? connect)
    {
        Device = device;
        Server = server;
        _reconnect = reconnect;
        _keepAlive = keepAlive;
        _connect = connect ?? (token => TcpConnector.ConnectAsync(Server, _keepAlive, TimeSpan.FromSeconds(10), token));
        Log = new SessionLog(logListener);
        Id = ConnectionRegistry.Add(this);
    }

    /// <summary>
    /// Starts pushing <paramref name="device"/> to <paramref name="server"/>. Returns once the first attempt has connected,
    /// or throws its error (a wrong address should fail at once, not retry silently); later drops are retried in the background.
    /// </summary>
    public static Task<UsbRedirConnection> ConnectAsync(IUsbDevice device, UsbRedirEndpoint server, ReconnectPolicy? reconnect = null,
        TcpKeepAlive? keepAlive = null, Action<SessionLogEntry>? logListener = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(device, server, reconnect, keepAlive, logListener, connect: null, cancellationToken);

    /// <param name="connect">Opens the socket to <paramref name="server"/> (null: TCP); tests pass one that holds a connected socket back.</param>
    internal static async Task<UsbRedirConnection> ConnectAsync(IUsbDevice device, UsbRedirEndpoint server, ReconnectPolicy? reconnect,
        TcpKeepAlive? keepAlive, Action<SessionLogEntry>? logListener, Func<CancellationToken, Task<Socket>>? connect, CancellationToken cancellationToken)
    {
        var connection = new UsbRedirConnection(device, server, reconnect ?? ReconnectPolicy.Default, keepAlive ?? TcpKeepAlive.Default, logListener, connect);
        try
        {
            var first = await connection.OpenSessionAsync(isReconnect: false, cancellationToken);
            _ = Task.Run(() => connection.RunAsync(first));
            return connection;
        }
        catch
        {
            ConnectionRegistry.Remove(connection);
            throw;
        }
    }

    public int Id { get; }

    public IUsbDevice Device { get; }

    public UsbRedirEndpoint Server { get; }

    // Volatile: written by the background reconnect loop, read by cmdlets and tests on other threads.
    private volatile ConnectionState _state = ConnectionState.Connecting;

    public ConnectionState State { get => _state; private set => _state = value; }

    public DateTimeOffset StartTime { get; } = DateTimeOffset.Now;

    public SessionLog Log { get; }

    /// <summary>How many times the link was re-established after a drop.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    public string? PeerVersion => _session?.PeerVersion;

    /// <summary>The filter the peer announced, if any.</summary>
    public string? PeerFilter => _session?.PeerFilter;

    public long BytesSent => _bytesSentBefore + (_session?.Connection.BytesSent ?? 0);
    public long BytesReceived => _bytesReceivedBefore + (_session?.Connection.BytesReceived ?? 0);

    /// <summary>Data packets (transfer requests from the peer, and our replies) over the connection's lifetime.</summary>
    public long TransfersReceived => _packetsReceivedBefore + (_session?.PacketsReceived ?? 0);
    public long TransfersSent => _packetsSentBefore + (_session?.PacketsSent ?? 0);

    public int ErrorCount => Log.ErrorCount;

    public string? LastError => Log.LastError?.Message;

    /// <summary>Completes when the connection has ended for good.</summary>
    public Task Completion => _ended.Task;

    private async Task<UsbRedirHostSession> OpenSessionAsync(bool isReconnect, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var socket = await _connect(linked.Token);
        lock (_sessionGate)
        {
            if (_stop.IsCancellationRequested)
            {
                socket.Dispose(); // disconnected while connecting: the peer sees the connection end before any hello
                throw new OperationCanceledException(_stop.Token);
            }
            var session = new UsbRedirHostSession(Device, ByteStreamConnection.FromSocket(socket), Log);
            _session = session;
            // Counter and state are updated before Start: once the session sends its hello the peer (and anyone watching
            // it) can observe this connection, and must then see the reconnect counted and the state Connected.
            if (isReconnect)
                Interlocked.Increment(ref _reconnects);
            State = ConnectionState.Connected;
            Log.Info($"connected to {Server}");
            session.Start();
            return session;
        }
    }

    private async Task RunAsync(UsbRedirHostSession session)
    {
        try
        {
            while (true)
            {
                var reason = await session.Completion;
                Retire(session);
                if (_stop.IsCancellationRequested || Device.Gone.IsCancellationRequested)
                {
                    State = ConnectionState.Disconnected;
                    return;
                }
                if (session.DeviceState == HostDeviceState.Rejected)
                {
                    State = ConnectionState.Rejected;
                    Log.Error($"{Server} rejected {Device.Description} (its filter: {session.PeerFilter ?? "none sent"})");
                    return;
                }
                Log.Warning($"connection to {Server} ended: {reason?.Message ?? "closed by the peer"}");
                var next = await ReconnectAsync();
                if (next is null)
                    return;
                session = next;
            }
        }
        catch (Exception e)
        {
            Log.Error($"connection {Id} failed: {e.Message}");
            State = ConnectionState.Failed;
        }
        finally
        {
            // Stays in the registry with its final state until DisconnectAsync, so users can see why it ended.
            _ended.TrySetResult();
        }
    }

    private async Task<UsbRedirHostSession?> ReconnectAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            if (_reconnect.DelayBefore(attempt) is not { } delay)
            {
                State = ConnectionState.Failed;
                Log.Error($"giving up on {Server} after {attempt - 1} reconnect attempts");
                return null;
            }
            State = ConnectionState.Reconnecting;
            try
            {
                await Task.Delay(delay, _stop.Token);
                return await OpenSessionAsync(isReconnect: true, CancellationToken.None);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                State = ConnectionState.Disconnected;
                return null;
            }
            catch (UsbRedirException e)
            {
                Log.Warning($"reconnect attempt {attempt} to {Server} failed: {e.Message}");
            }
        }
    }

    private void Retire(UsbRedirHostSession session)
    {
        _bytesSentBefore += session.Connection.BytesSent;
        _bytesReceivedBefore += session.Connection.BytesReceived;
        _packetsSentBefore += session.PacketsSent;
        _packetsReceivedBefore += session.PacketsReceived;
        _session = null;
    }

    /// <summary>
    /// Stops exporting: the peer is told the device is gone (device_disconnect, waiting for its ack up to
    /// <paramref name="timeout"/>), then the connection closes, is not retried and leaves the registry. The device
    /// itself stays usable. On a connection that has already ended it only leaves the registry, keeping its final
    /// state (Rejected, Failed) and error.
    /// </summary>
    public async Task DisconnectAsync(TimeSpan timeout)
    {
        if (Completion.IsCompleted)
        {
            ConnectionRegistry.Remove(this);
            return;
        }
        UsbRedirHostSession? current;
        lock (_sessionGate)
        {
            _stop.Cancel(); // under the lock: no session can be published after this without seeing it
            current = _session;
        }
        if (current is { } session)
        {
            await session.ReleaseDeviceAsync(timeout);
            session.Close();
            await Task.WhenAny(session.Completion, Task.Delay(timeout));
            await session.DisposeAsync();
        }
        await Task.WhenAny(_ended.Task, Task.Delay(timeout));
        if (State is not (ConnectionState.Rejected or ConnectionState.Failed))
            State = ConnectionState.Disconnected;
        ConnectionRegistry.Remove(this);
    }

    public override string ToString() => $"{Id}: {Device.Description} -> {Server} ({State})";
}
