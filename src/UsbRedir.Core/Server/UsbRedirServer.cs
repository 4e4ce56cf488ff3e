using System.Net;
using System.Net.Sockets;
using UsbRedir.Controllers;
using UsbRedir.Sessions;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Server;

/// <summary>
/// A usbredir server (the role of usbredirserver/vhciserver): listens on TCP, runs the usb-guest role on every accepted
/// connection, checks each announced device against its filter (refused: filter_reject, then the connection is closed),
/// and hands every accepted device to an <see cref="IDeviceSink"/> — usually a virtual host controller — until the device
/// or its connection goes away. Runs in the background; <see cref="StopAsync"/> detaches every device and closes every
/// connection. A server started in a <see cref="UsbRedirContext"/> is listed there until it stops.
/// </summary>
public sealed class UsbRedirServer : IAsyncDisposable
{
    private readonly TcpServerListener _listener;
    private readonly CancellationTokenSource _stop = new();
    /// <summary>Ended connections kept for display (why a device did not appear: refused, failed).</summary>
    private const int EndedConnectionsKept = 16;

    private readonly List<UsbRedirServerConnection> _connections = [];
    private readonly Queue<UsbRedirServerConnection> _ended = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _acceptLoop;
    private int _nextConnectionId;
    private int _handshaking; // accepted sockets still deciding plaintext or TLS (under _connections' lock)
    private long _accepted;
    private long _refused;
    // The context this server is listed in (null: none); it leaves it, with its own controller, when it stops.
    private readonly UsbRedirContext? _context;

    private UsbRedirServer(TcpServerListener listener, IDeviceSink sink, UsbRedirServerOptions options, UsbRedirContext? context)
    {
        _listener = listener;
        LocalEndPoint = listener.LocalEndPoint;
        Sink = sink;
        Options = options;
        Log = new SessionLog(options.LogListener);
        _context = context;
        Id = context?.Servers.Add(this) ?? 0;
        _acceptLoop = Task.Run(() => _listener.AcceptLoopAsync(OnAcceptedAsync,
            e => Log.Error($"a connection failed to start: {e.Message}"), _stop.Token));
    }

    /// <summary>
    /// Starts listening and serving. Returns once the port is bound.
    /// </summary>
    /// <exception cref="UsbRedirException">The options are invalid, the port is in use (ServerPortInUse), needs privileges
    /// (ServerPortAccessDenied), or the address is not local (ServerAddressNotAvailable).</exception>
    /// <param name="context">Where the server is listed and numbered (a front end's); null: nowhere, <see cref="Id"/> 0.</param>
    public static UsbRedirServer Start(IDeviceSink sink, UsbRedirServerOptions? options = null, UsbRedirContext? context = null) =>
        Start(sink, options, ownedController: null, context);

    /// <summary>
    /// Creates a controller for a new server with <paramref name="createController"/> and starts the server, which plugs
    /// what it accepts into that controller (through <paramref name="sink"/>, given the controller's
    /// <see cref="ControllerDeviceSink"/>; null: that sink itself). The controller is the server's own
    /// (<see cref="OwnedController"/>): <see cref="StopAsync"/> removes it after the last device is unplugged, and it is
    /// removed at once if the server cannot start. The one home of that rule for every front end (usbredir server,
    /// Start-UsbRedirServer -Ports). In a <paramref name="context"/> the controller is listed beside the server
    /// (<see cref="UsbRedirContext.Controllers"/>) until the server stops.
    /// </summary>
    /// <exception cref="UsbRedirException">The controller cannot be created, or the server cannot start (see <see cref="Start(IDeviceSink, UsbRedirServerOptions?, UsbRedirContext?)"/>).</exception>
    public static async Task<UsbRedirServer> StartWithOwnControllerAsync(Func<CancellationToken, Task<IVirtualHostController>> createController,
        UsbRedirServerOptions? options, Func<ControllerDeviceSink, IDeviceSink>? sink, CancellationToken cancellationToken,
        UsbRedirContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(createController);
        var controller = await createController(cancellationToken).ConfigureAwait(false);
        try
        {
            var plugInto = new ControllerDeviceSink(controller);
            var server = Start(sink?.Invoke(plugInto) ?? plugInto, options, controller, context);
            context?.Controllers.Add(controller);
            return server;
        }
        catch
        {
            await controller.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static UsbRedirServer Start(IDeviceSink sink, UsbRedirServerOptions? options, IVirtualHostController? ownedController, UsbRedirContext? context)
    {
        ArgumentNullException.ThrowIfNull(sink);
        options ??= new UsbRedirServerOptions();
        options.Validate();
        var listener = TcpServerListener.Start(options.Address, options.Port, options.KeepAlive);
        var server = new UsbRedirServer(listener, sink, options, context) { OwnedController = ownedController };
        server.Log.Info($"listening on {server.LocalEndPoint}");
        return server;
    }

    /// <summary>Its number in the <see cref="UsbRedirContext"/> that lists it, from 1; 0 when started without one.</summary>
    public int Id { get; }

    public UsbRedirServerOptions Options { get; }

    public IDeviceSink Sink { get; }

    /// <summary>The controller made for this server (<see cref="StartWithOwnControllerAsync"/>), removed when it stops; else null.</summary>
    public IVirtualHostController? OwnedController { get; private init; }

    /// <summary>The bound address and port (the real port when 0 was asked for); still readable once the server has stopped.</summary>
    public IPEndPoint LocalEndPoint { get; }

    public DateTimeOffset StartTime { get; } = DateTimeOffset.Now;

    /// <summary>True until <see cref="StopAsync"/>.</summary>
    public bool IsRunning => !_stop.IsCancellationRequested;

    /// <summary>The server's own log (listening, refused connections); each connection has its own too.</summary>
    public SessionLog Log { get; }

    /// <summary>Connections still running.</summary>
    public IReadOnlyList<UsbRedirServerConnection> Connections { get { lock (_connections) return _connections.ToArray(); } }

    /// <summary>The last connections that ended (at most 16, oldest first), with their final state and errors.</summary>
    public IReadOnlyList<UsbRedirServerConnection> EndedConnections { get { lock (_connections) return _ended.ToArray(); } }

    /// <summary>Connections accepted since the start, and those refused because <see cref="UsbRedirServerOptions.MaxConnections"/> were running.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _accepted);
    public long ConnectionsRefused => Interlocked.Read(ref _refused);

    /// <summary>Completes when the server has stopped and every connection has ended.</summary>
    public Task Completion => _stopped.Task;

    private async Task OnAcceptedAsync(Socket socket, CancellationToken stopping)
    {
        var remote = socket.RemoteEndPoint;
        lock (_connections)
        {
            if (_connections.Count + _handshaking >= Options.MaxConnections || stopping.IsCancellationRequested)
            {
                Interlocked.Increment(ref _refused);
                Log.Warning($"refused a connection from {remote}: {Options.MaxConnections} connections are already served");
                socket.Dispose();
                return;
            }
            _handshaking++;
        }
        ByteStreamConnection link;
        try
        {
            link = await SecureTransport.ServerAsync(socket, Options.Tls, stopping);
        }
        catch (UsbRedirException e)
        {
            Log.Warning($"refused {remote}: {e.Message}");
            return;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return;
        }
        finally
        {
            lock (_connections)
                _handshaking--;
        }
        UsbRedirServerConnection connection;
        lock (_connections)
        {
            if (stopping.IsCancellationRequested)
            {
                link.Close(new OperationCanceledException(stopping));
                return;
            }
            var id = ++_nextConnectionId;
            var log = new SessionLog(Options.LogListener is { } listen ? e => listen(e with { Message = $"connection {id}: {e.Message}" }) : null);
            var guest = Options.ClientFilter?.Invoke(link.Security) is { } own ? Options.GuestOptions with { ClientFilter = own } : Options.GuestOptions;
            var session = new UsbRedirGuestSession(link, log, guest);
            connection = new UsbRedirServerConnection(id, this, session, Sink, _stop.Token);
            _connections.Add(connection);
        }
        Interlocked.Increment(ref _accepted);
        connection.Log.Info(link.Security.IsTls ? $"accepted {connection.Peer} over {link.Security}" : $"accepted {connection.Peer}");
        if (Options.Tls is { } tls)
            SecureTransport.DropIfSilent(link, tls.HandshakeTimeout);
        await RunConnectionAsync(connection);
    }

    private Task RunConnectionAsync(UsbRedirServerConnection connection) => connection.RunAsync();

    /// <summary>
    /// Moves an ending connection from <see cref="Connections"/> to <see cref="EndedConnections"/>. The connection calls
    /// this before its Completion completes, so whoever awaits that sees the server's lists already updated.
    /// </summary>
    internal void OnConnectionEnded(UsbRedirServerConnection connection)
    {
        lock (_connections)
        {
            if (!_connections.Remove(connection))
                return;
            if (_ended.Count == EndedConnectionsKept)
                _ended.Dequeue();
            _ended.Enqueue(connection);
        }
    }

    /// <summary>
    /// Stops listening, detaches every device from the sink and closes every connection, waiting up to
    /// <paramref name="timeout"/> (default 10 s) for them to finish.
    /// </summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        if (!_stop.IsCancellationRequested)
        {
            Log.Info("stopping");
            _stop.Cancel();
        }
        await _listener.DisposeAsync();
        await Task.WhenAny(_acceptLoop, Task.Delay(limit));
        var running = Connections;
        await Task.WhenAll(running.Select(c => c.CloseAsync(limit)));
        _context?.Servers.Remove(this);
        if (Connections.Count > 0)
            Log.Warning($"{Connections.Count} connection(s) did not end within {limit.TotalSeconds:0.#} s");
        else
            Log.Info("stopped");
        if (OwnedController is { } owned)
        {
            await owned.DisposeAsync(); // idempotent: a second stop finds it removed
            _context?.Controllers.Remove(owned);
        }
        _stopped.TrySetResult();
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    public override string ToString() => $"{Id}: {LocalEndPoint} ({Connections.Count} connections)";
}
