using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using UsbRedir.Devices;
using UsbRedir.Devices.Sources;
using UsbRedir.Filtering;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Sessions;

/// <summary>
/// A device exported with the usb-host role that lives in the background until disconnected. It reaches its usb-guest
/// peer one of two ways: it connects to a server (a UsbRedir server, or QEMU's usb-redir chardev in server mode) and
/// reconnects with backoff when the link drops (<see cref="ConnectAsync(IUsbDeviceSource, UsbRedirEndpoint, ReconnectPolicy?, TcpKeepAlive?, Action{SessionLogEntry}?, CancellationToken)"/>);
/// or it listens, like usbredirect's --as, for a peer that connects to it (QEMU's usb-redir with a client chardev, libvirt's
/// redirdev in connect mode), serving one peer at a time and waiting for the next when one leaves
/// (<see cref="ListenAsync(IUsbDeviceSource, IPEndPoint, TcpKeepAlive?, Action{SessionLogEntry}?)"/>).
/// </summary>
/// <remarks>
/// <para>The device comes from an <see cref="IUsbDeviceSource"/>. When it goes away (<see cref="IUsbDevice.Gone"/>) the peer is
/// told (device_disconnect, its acknowledgement awaited), the link is closed, the device is handed back to the source, and the
/// connection waits (<see cref="ConnectionState.WaitingForDevice"/>) for the source to yield it again, then exports it anew:
/// auto re-attach. A <see cref="FixedUsbDeviceSource"/> never yields a device again, so that connection ends (Disconnected)
/// with its device. The peer's filter rejecting the device ends the connection (Rejected): re-plugging would not change its mind.</para>
/// <para>Every background step is guarded: failures end up in <see cref="State"/>, <see cref="LastError"/> and
/// <see cref="Log"/>, never as an exception on a thread nobody waits for.</para>
/// </remarks>
public sealed class UsbRedirConnection
{
    /// <summary>How long a device that went away waits for the peer to acknowledge its device_disconnect before the link closes.</summary>
    private static readonly TimeSpan GoneAckTimeout = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly ReconnectPolicy _reconnect;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<CancellationToken, Task<Socket>>? _connect;
    private readonly TcpServerListener? _listener;
    // TLS towards the server we connect to, or for the peers that connect to our listener (null: plaintext).
    private readonly TlsClientOptions? _tlsClient;
    private readonly TlsServerOptions? _tlsServer;
    // Listen mode: the rules each admitted peer is held to (its authorized_clients entry's filter), or null.
    private Func<ConnectionSecurity, IReadOnlyList<UsbRedirFilterRule>?>? _peerFilter;
    // Listen mode: the peer accepted while none is served, waiting for the exporter to take it (one at a time).
    private readonly Channel<Socket>? _waitingPeer;
    // Publishing a new session and stopping are atomic under it: either the opener sees the stop and closes its fresh
    // socket, or DisconnectAsync sees the session and ends it. Without it a reconnect whose connect finished just
    // as DisconnectAsync ran could start a session nobody would ever close.
    private readonly object _sessionGate = new();
    // The list this connection is in (null: none); it leaves it when disconnected.
    private readonly ContextList<UsbRedirConnection>? _registry;
    private volatile UsbRedirHostSession? _session;
    private volatile IUsbDevice? _device;
    private int _reconnects;
    private int _reattachments;
    private long _bytesSentBefore, _bytesReceivedBefore, _packetsSentBefore, _packetsReceivedBefore;

    /// <summary>How an export of one acquired device ended.</summary>
    private enum ExportEnd
    {
        Stopped,
        DeviceGone,
        Rejected,
        GaveUp,
    }

    private UsbRedirConnection(IUsbDeviceSource source, UsbRedirEndpoint? server, TcpServerListener? listener, ReconnectPolicy reconnect,
        TcpKeepAlive? keepAlive, Action<SessionLogEntry>? logListener, Func<CancellationToken, Task<Socket>>? connect, UsbRedirContext? context,
        TlsClientOptions? tlsClient = null, TlsServerOptions? tlsServer = null)
    {
        _tlsClient = tlsClient;
        _tlsServer = tlsServer;
        Source = source;
        Server = server;
        _listener = listener;
        _reconnect = reconnect;
        if (server is not null)
            _connect = connect ?? (token => TcpConnector.ConnectAsync(server, keepAlive, TimeSpan.FromSeconds(10), token));
        else
            _waitingPeer = Channel.CreateBounded<Socket>(1);
        ListenEndPoint = listener?.LocalEndPoint;
        if (source is FixedUsbDeviceSource fixedSource)
            _device = fixedSource.Device;
        Log = new SessionLog(logListener);
        // What a re-opening source says while it waits (e.g. a device of the kind it waits for that it does not take).
        if (source is ReopeningUsbDeviceSource reopening)
            reopening.Notice += message => Log.Warning(message);
        _registry = context?.Connections;
        Id = _registry?.Add(this, RefuseSecondExport) ?? 0;
    }

    /// <summary>One source is exported once per context: a running connection of the same source keeps this one out.</summary>
    /// <exception cref="UsbRedirException">DeviceAlreadyConnected.</exception>
    private void RefuseSecondExport(IEnumerable<UsbRedirConnection> listed)
    {
        if (listed.FirstOrDefault(c => c.Source.Equals(Source) && !c.Completion.IsCompleted) is { } existing)
            throw new UsbRedirException("DeviceAlreadyConnected", UsbRedirErrorCategory.ResourceBusy,
                $"{DeviceIdentity} is already connected to {existing.Target} (connection {existing.Id}).",
                $"Disconnect connection {existing.Id} first, or stop the process that holds it.", Source);
    }

    /// <summary>
    /// Starts pushing <paramref name="device"/> to <paramref name="server"/>; the connection ends when the device goes away.
    /// Returns once the first attempt has connected, or throws its error (a wrong address should fail at once, not retry
    /// silently); later drops are retried in the background.
    /// </summary>
    /// <param name="context">Where the connection is listed and numbered (a front end's); null: nowhere, <see cref="Id"/> 0.</param>
    public static Task<UsbRedirConnection> ConnectAsync(IUsbDevice device, UsbRedirEndpoint server, ReconnectPolicy? reconnect = null,
        TcpKeepAlive? keepAlive = null, Action<SessionLogEntry>? logListener = null, CancellationToken cancellationToken = default,
        UsbRedirContext? context = null) =>
        ConnectAsync(new FixedUsbDeviceSource(device), server, reconnect, keepAlive, logListener, connect: null, cancellationToken, context);

    /// <summary>
    /// Starts pushing the device of <paramref name="source"/> to <paramref name="server"/>, re-exporting it whenever the source
    /// yields it again after it went away. Waits for the source's first device (cancel with <paramref name="cancellationToken"/>),
    /// then returns once the first attempt has connected, or throws its error; later drops are retried in the background.
    /// </summary>
    /// <param name="context">Where the connection is listed and numbered (a front end's); null: nowhere, <see cref="Id"/> 0.</param>
    public static Task<UsbRedirConnection> ConnectAsync(IUsbDeviceSource source, UsbRedirEndpoint server, ReconnectPolicy? reconnect = null,
        TcpKeepAlive? keepAlive = null, Action<SessionLogEntry>? logListener = null, CancellationToken cancellationToken = default,
        UsbRedirContext? context = null) =>
        ConnectAsync(source, server, reconnect, keepAlive, logListener, connect: null, cancellationToken, context);

    /// <summary>
    /// Like <see cref="ConnectAsync(IUsbDeviceSource, UsbRedirEndpoint, ReconnectPolicy?, TcpKeepAlive?, Action{SessionLogEntry}?, CancellationToken, UsbRedirContext?)"/>,
    /// over TLS as <paramref name="tls"/> says (null: plaintext): every connect and reconnect runs the handshake, and its
    /// errors (wrong CA, expired, wrong host name, a plaintext peer, rejected by the peer's TLS authorization) are thrown
    /// by the first attempt. <see cref="Security"/> tells what each link got.
    /// </summary>
    public static Task<UsbRedirConnection> ConnectAsync(IUsbDeviceSource source, UsbRedirEndpoint server, TlsClientOptions? tls,
        ReconnectPolicy? reconnect = null, TcpKeepAlive? keepAlive = null, Action<SessionLogEntry>? logListener = null, CancellationToken cancellationToken = default,
        UsbRedirContext? context = null) =>
        ConnectAsync(source, server, reconnect, keepAlive, logListener, connect: null, cancellationToken, context, tls);

    /// <summary>Pushes <paramref name="device"/> over TLS as <paramref name="tls"/> says (null: plaintext); see the source overload.</summary>
    public static Task<UsbRedirConnection> ConnectAsync(IUsbDevice device, UsbRedirEndpoint server, TlsClientOptions? tls,
        ReconnectPolicy? reconnect = null, TcpKeepAlive? keepAlive = null, Action<SessionLogEntry>? logListener = null, CancellationToken cancellationToken = default,
        UsbRedirContext? context = null) =>
        ConnectAsync(new FixedUsbDeviceSource(device), server, reconnect, keepAlive, logListener, connect: null, cancellationToken, context, tls);

    /// <param name="connect">Opens the socket to <paramref name="server"/> (null: TCP); tests pass one that holds a connected socket back.</param>
    internal static Task<UsbRedirConnection> ConnectAsync(IUsbDevice device, UsbRedirEndpoint server, ReconnectPolicy? reconnect,
        TcpKeepAlive? keepAlive, Action<SessionLogEntry>? logListener, Func<CancellationToken, Task<Socket>>? connect, CancellationToken cancellationToken,
        UsbRedirContext? context = null) =>
        ConnectAsync(new FixedUsbDeviceSource(device), server, reconnect, keepAlive, logListener, connect, cancellationToken, context);

    internal static async Task<UsbRedirConnection> ConnectAsync(IUsbDeviceSource source, UsbRedirEndpoint server, ReconnectPolicy? reconnect,
        TcpKeepAlive? keepAlive, Action<SessionLogEntry>? logListener, Func<CancellationToken, Task<Socket>>? connect, CancellationToken cancellationToken,
        UsbRedirContext? context, TlsClientOptions? tls = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(server);
        tls?.Validate();
        var connection = new UsbRedirConnection(source, server, listener: null, reconnect ?? ReconnectPolicy.Default, keepAlive ?? TcpKeepAlive.Default, logListener, connect, context, tlsClient: tls);
        IUsbDevice? device = null;
        try
        {
            device = await connection.AcquireAsync(cancellationToken)
                ?? throw new UsbRedirException("DeviceGone", UsbRedirErrorCategory.DeviceError, $"{source.Identity} is gone.",
                    "Create or plug in the device again, then connect it.", source);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connection._stop.Token);
            var first = connection.OpenSession(device, await connection.ConnectLinkAsync(linked.Token), isReconnect: false, cancellationToken);
            _ = Task.Run(() => connection.RunAsync(device, first));
            return connection;
        }
        catch
        {
            if (device is not null)
                await source.ReleaseAsync(device);
            connection._registry?.Remove(connection);
            throw;
        }
    }

    /// <summary>
    /// Exports <paramref name="device"/> to whoever connects to <paramref name="listen"/> (usbredirect's --as); the connection
    /// ends when the device goes away. Returns once the port is bound.
    /// </summary>
    /// <exception cref="UsbRedirException">The port is in use (ServerPortInUse), needs privileges (ServerPortAccessDenied), or the address is not local (ServerAddressNotAvailable).</exception>
    /// <param name="context">Where the connection is listed and numbered (a front end's); null: nowhere, <see cref="Id"/> 0.</param>
    public static Task<UsbRedirConnection> ListenAsync(IUsbDevice device, IPEndPoint listen, TcpKeepAlive? keepAlive = null,
        Action<SessionLogEntry>? logListener = null, UsbRedirContext? context = null) =>
        ListenAsync(new FixedUsbDeviceSource(device), listen, keepAlive, logListener, context);

    /// <summary>
    /// Exports the device of <paramref name="source"/> to whoever connects to <paramref name="listen"/>: one peer at a time (one
    /// that connects meanwhile waits its turn, as with usbredirect's --as; a third is closed at once), and when the peer leaves,
    /// or the device went away and is back, the next peer gets it. Returns once the port is bound; everything else happens in the background
    /// (<see cref="ConnectionState.Listening"/> while no peer is connected).
    /// </summary>
    /// <exception cref="UsbRedirException">The port is in use (ServerPortInUse), needs privileges (ServerPortAccessDenied), or the address is not local (ServerAddressNotAvailable).</exception>
    /// <param name="context">Where the connection is listed and numbered (a front end's); null: nowhere, <see cref="Id"/> 0.</param>
    public static Task<UsbRedirConnection> ListenAsync(IUsbDeviceSource source, IPEndPoint listen, TcpKeepAlive? keepAlive = null,
        Action<SessionLogEntry>? logListener = null, UsbRedirContext? context = null) =>
        ListenAsync(source, listen, tls: null, keepAlive, logListener, context);

    /// <summary>Exports <paramref name="device"/> to whoever connects to <paramref name="listen"/>, over TLS as <paramref name="tls"/> says (null: plaintext).</summary>
    public static Task<UsbRedirConnection> ListenAsync(IUsbDevice device, IPEndPoint listen, TlsServerOptions? tls, TcpKeepAlive? keepAlive = null,
        Action<SessionLogEntry>? logListener = null, UsbRedirContext? context = null) =>
        ListenAsync(new FixedUsbDeviceSource(device), listen, tls, keepAlive, logListener, context);

    /// <summary>
    /// Exports the device of <paramref name="source"/> to whoever connects to <paramref name="listen"/> and
    /// <paramref name="security"/> admits: its TLS settings, and each admitted peer held to its authorized_clients rules, as
    /// a server holds its clients (both front ends' listening exports).
    /// </summary>
    public static Task<UsbRedirConnection> ListenAsync(IUsbDeviceSource source, IPEndPoint listen, Security.ServerSecurity security,
        TcpKeepAlive? keepAlive = null, Action<SessionLogEntry>? logListener = null, UsbRedirContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(security);
        return ListenAsync(source, listen, security.Tls, keepAlive, logListener, context, security.FilterFor);
    }

    /// <summary>
    /// Like <see cref="ListenAsync(IUsbDeviceSource, IPEndPoint, TcpKeepAlive?, Action{SessionLogEntry}?, UsbRedirContext?)"/>, with TLS for the
    /// peers as <paramref name="tls"/> says (null: plaintext): we are the TLS server (QEMU connects with
    /// <c>tls-creds-x509,endpoint=client</c>). A peer that fails the handshake or is refused is logged and the next one waited for.
    /// </summary>
    /// <param name="peerFilter">The rules an admitted peer is held to (its authorized_clients entry's filter,
    /// <see cref="Security.ServerSecurity.FilterFor"/>), or null: a peer whose rules refuse the device is dropped before it sees it.</param>
    public static Task<UsbRedirConnection> ListenAsync(IUsbDeviceSource source, IPEndPoint listen, TlsServerOptions? tls, TcpKeepAlive? keepAlive = null,
        Action<SessionLogEntry>? logListener = null, UsbRedirContext? context = null, Func<ConnectionSecurity, IReadOnlyList<UsbRedirFilterRule>?>? peerFilter = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(listen);
        tls?.Validate();
        // Backlog 1: one peer is served and one more may wait its turn; further ones are closed at once (see OnPeerAsync).
        var listener = TcpServerListener.Start(listen.Address, listen.Port, keepAlive ?? TcpKeepAlive.Default, backlog: 1);
        UsbRedirConnection connection;
        try
        {
            connection = new UsbRedirConnection(source, server: null, listener, ReconnectPolicy.Default, keepAlive, logListener, connect: null, context, tlsServer: tls)
            {
                _peerFilter = peerFilter,
            };
        }
        catch
        {
            _ = listener.DisposeAsync();
            throw;
        }
        connection.State = ConnectionState.Listening;
        connection.Log.Info($"listening on {connection.ListenEndPoint} for a usb-guest peer");
        _ = Task.Run(() => listener.AcceptLoopAsync(connection.OnPeerAsync,
            e => connection.Log.Error($"a peer could not be taken: {e.Message}"), connection._stop.Token));
        _ = Task.Run(() => connection.RunAsync(device: null, first: null));
        return Task.FromResult(connection);
    }

    /// <summary>Its number in the <see cref="UsbRedirContext"/> that lists it, from 1; 0 when made without one.</summary>
    public int Id { get; }

    /// <summary>Where the exported device comes from; its <see cref="IUsbDeviceSource.Identity"/> names it while it is away.</summary>
    public IUsbDeviceSource Source { get; }

    /// <summary>The device, stable across re-plugs: the source's identity ("2-1.3", or a software device's description).</summary>
    public string DeviceIdentity => Source.Identity;

    /// <summary>The device exported now, or the last one while the source has none (null before it yielded any).</summary>
    public IUsbDevice? Device => _device;

    /// <summary>The server this connection connects to, or null when it listens (<see cref="ListenEndPoint"/>).</summary>
    public UsbRedirEndpoint? Server { get; }

    /// <summary>The address and port this connection listens on for its peer, or null when it connects to a <see cref="Server"/>.</summary>
    public IPEndPoint? ListenEndPoint { get; }

    /// <summary>"127.0.0.1:4000" (a server), or "listen 127.0.0.1:4000": where the peer is found, for lists and messages.</summary>
    public string Target => Server?.ToString() ?? $"listen {ListenEndPoint}";

    /// <summary>The address of the peer served now, or null.</summary>
    public string? Peer => _session?.Connection.Peer;

    /// <summary>How the link served now is protected (plaintext or TLS) and who the peer is by its certificate; null while none is.</summary>
    public ConnectionSecurity? Security => _session?.Connection.Security;

    // Volatile: written by the background loop, read by cmdlets and tests on other threads.
    private volatile ConnectionState _state = ConnectionState.Connecting;

    public ConnectionState State
    {
        get => _state;
        private set
        {
            var before = _state;
            _state = value;
            if (before != value)
                OnStateChanged(value);
        }
    }

    /// <summary>
    /// Raised on the connection's background thread after <see cref="State"/> changed (Connected, Listening, WaitingForDevice
    /// ...), for front ends that show the changes as they happen (the CLI prints them). A throwing handler is removed
    /// and logged, never propagated into the connection.
    /// </summary>
    public event Action<UsbRedirConnection, ConnectionState>? StateChanged;

    private void OnStateChanged(ConnectionState state)
    {
        if (StateChanged is not { } handlers)
            return;
        foreach (var handler in handlers.GetInvocationList().Cast<Action<UsbRedirConnection, ConnectionState>>())
        {
            try
            {
                handler(this, state);
            }
            catch (Exception e)
            {
                StateChanged -= handler;
                Log.Error($"a StateChanged handler failed and was removed: {e.Message}");
            }
        }
    }

    public DateTimeOffset StartTime { get; } = DateTimeOffset.Now;

    public SessionLog Log { get; }

    /// <summary>How many times a link was established again for the same device: reconnects after a drop, and the next peers of a listening connection.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    /// <summary>How many times the device came back after it went away and was exported again.</summary>
    public int Reattachments => Volatile.Read(ref _reattachments);

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

    /// <summary>
    /// The background life of the connection: exports each device the source yields, starting with <paramref name="device"/>
    /// (null: acquire one first) over <paramref name="first"/> (null: open a link first), until stopped, rejected, given up,
    /// or the source has no more devices.
    /// </summary>
    private async Task RunAsync(IUsbDevice? device, UsbRedirHostSession? first)
    {
        var cameBack = false;
        try
        {
            while (true)
            {
                if (device is null)
                {
                    device = await AcquireAsync(_stop.Token);
                    if (device is null)
                    {
                        Log.Info($"{DeviceIdentity} is gone and will not come back: the connection ends");
                        State = ConnectionState.Disconnected;
                        return;
                    }
                    if (cameBack)
                        Interlocked.Increment(ref _reattachments);
                }
                ExportEnd end;
                try
                {
                    end = await ExportAsync(device, first);
                }
                finally
                {
                    await Source.ReleaseAsync(device);
                }
                first = null;
                device = null;
                if (end != ExportEnd.DeviceGone)
                {
                    State = end switch
                    {
                        ExportEnd.Rejected => ConnectionState.Rejected,
                        ExportEnd.GaveUp => ConnectionState.Failed,
                        _ => ConnectionState.Disconnected,
                    };
                    return;
                }
                if (_stop.IsCancellationRequested)
                {
                    State = ConnectionState.Disconnected;
                    return;
                }
                cameBack = true;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            State = ConnectionState.Disconnected;
        }
        catch (Exception e)
        {
            Log.Error($"connection {Id} failed: {e.Message}");
            State = ConnectionState.Failed;
        }
        finally
        {
            if (_listener is not null)
            {
                await _listener.DisposeAsync();
                while (_waitingPeer!.Reader.TryRead(out var waiting))
                    waiting.Dispose();
            }
            // Stays in the registry with its final state until DisconnectAsync, so users can see why it ended.
            _ended.TrySetResult();
        }
    }

    /// <summary>The next device of the source, or null when it has none any more. The first one counts as a re-attach only later.</summary>
    private async Task<IUsbDevice?> AcquireAsync(CancellationToken cancellationToken)
    {
        var acquiring = Source.AcquireAsync(cancellationToken);
        if (!acquiring.IsCompleted)
        {
            State = ConnectionState.WaitingForDevice;
            Log.Info($"waiting for {DeviceIdentity}");
        }
        var device = await acquiring;
        if (device is not null)
        {
            _device = device;
            Log.Info($"exporting {device.Description}");
        }
        return device;
    }

    /// <summary>
    /// Exports one device over as many links as it takes: reconnects after drops (or takes the next peer), until the device
    /// goes away, the connection stops, the peer rejects the device, or the reconnect policy gives up.
    /// </summary>
    private async Task<ExportEnd> ExportAsync(IUsbDevice device, UsbRedirHostSession? session)
    {
        using var goneOrStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, device.Gone);
        var retry = 0;
        while (true)
        {
            if (session is null)
            {
                try
                {
                    session = await OpenNextSessionAsync(device, retry, goneOrStop.Token);
                }
                catch (OperationCanceledException) when (goneOrStop.IsCancellationRequested)
                {
                    return _stop.IsCancellationRequested ? ExportEnd.Stopped : ExportEnd.DeviceGone;
                }
                if (session is null)
                    return ExportEnd.GaveUp;
            }
            var reason = await RunSessionAsync(session, device);
            session = null;
            if (_stop.IsCancellationRequested)
                return ExportEnd.Stopped;
            if (device.Gone.IsCancellationRequested)
            {
                Log.Info($"{device.Description} went away");
                return ExportEnd.DeviceGone;
            }
            if (reason.Rejected)
            {
                Log.Error($"{Target} rejected {device.Description} (its filter: {reason.PeerFilter ?? "none sent"})");
                return ExportEnd.Rejected;
            }
            Log.Warning(Server is not null
                ? $"connection to {Server} ended: {reason.Error?.Message ?? "closed by the peer"}"
                : $"peer {reason.Peer} left ({reason.Error?.Message.TrimEnd('.') ?? "closed by the peer"}); waiting for the next");
            // The next peer gets the device in its default state, as a freshly opened one (usbredirhost resets on every
            // open): a peer that left mid-transfer can leave e.g. a mass-storage device mid-command. Done now, before the
            // next peer's own reset during its enumeration, which then finds nothing to do; when that peer is this
            // machine's kernel, a real reset inside its enumeration would wait for the enumeration (see LocalUsbDevice).
            var reset = await device.ResetAsync(CancellationToken.None);
            if (reset != UsbStatus.Success && !device.Gone.IsCancellationRequested)
                Log.Warning($"resetting {device.Description} for the next peer failed ({reset})");
            retry = 1;
        }
    }

    /// <summary>
    /// The next link for <paramref name="device"/>: a connect to the server (retry 0 at once, later ones after the policy's
    /// delay), or the next peer that connects to the listener. Null when the reconnect policy gives up.
    /// </summary>
    private async Task<UsbRedirHostSession?> OpenNextSessionAsync(IUsbDevice device, int retry, CancellationToken cancellationToken)
    {
        if (_listener is not null)
        {
            State = ConnectionState.Listening;
            while (true)
            {
                var peer = await _waitingPeer!.Reader.ReadAsync(cancellationToken);
                var remote = peer.RemoteEndPoint;
                ByteStreamConnection link;
                try
                {
                    link = await SecureTransport.ServerAsync(peer, _tlsServer, cancellationToken);
                }
                catch (UsbRedirException e)
                {
                    Log.Warning($"refused {remote}: {e.Message}");
                    continue;
                }
                if (_peerFilter?.Invoke(link.Security) is { } rules
                    && UsbRedirFilterDevice.InEveryConfiguration(device).Select(d => UsbRedirFilter.Check(rules, d)).FirstOrDefault(v => !v.IsAllowed) is { } verdict)
                {
                    Log.Warning($"refused {remote}: {verdict.Message}: its authorized_clients entry's rules do not allow {device.Description}");
                    await link.DisposeAsync();
                    continue;
                }
                var session = OpenSession(device, link, isReconnect: retry > 0, cancellationToken);
                if (_tlsServer is not null)
                    SecureTransport.DropIfSilent(link, _tlsServer.HandshakeTimeout);
                return session;
            }
        }
        for (var attempt = retry; ; attempt++)
        {
            if (attempt == 0)
            {
                State = ConnectionState.Connecting;
            }
            else
            {
                if (_reconnect.DelayBefore(attempt) is not { } delay)
                {
                    Log.Error($"giving up on {Server} after {attempt - 1} reconnect attempts");
                    return null;
                }
                State = ConnectionState.Reconnecting;
                await Task.Delay(delay, cancellationToken);
            }
            try
            {
                return OpenSession(device, await ConnectLinkAsync(cancellationToken), isReconnect: retry > 0, cancellationToken);
            }
            catch (UsbRedirException e)
            {
                Log.Warning(attempt == 0 ? $"connecting to {Server} failed: {e.Message}" : $"reconnect attempt {attempt} to {Server} failed: {e.Message}");
            }
        }
    }

    /// <summary>Connects to the server and sets up the link (plaintext or TLS, as <see cref="_tlsClient"/> says).</summary>
    private async Task<ByteStreamConnection> ConnectLinkAsync(CancellationToken cancellationToken)
    {
        var socket = await _connect!(cancellationToken);
        return await SecureTransport.ClientAsync(socket, Server!.Host, _tlsClient, cancellationToken);
    }

    /// <summary>
    /// Starts a session for <paramref name="device"/> over <paramref name="link"/>, unless the connection stopped meanwhile.
    /// <paramref name="isReconnect"/>: a link again for the same device (counted in <see cref="Reconnects"/>).
    /// </summary>
    private UsbRedirHostSession OpenSession(IUsbDevice device, ByteStreamConnection link, bool isReconnect, CancellationToken cancellationToken)
    {
        lock (_sessionGate)
        {
            if (_stop.IsCancellationRequested || cancellationToken.IsCancellationRequested)
            {
                var stopped = new OperationCanceledException(_stop.IsCancellationRequested ? _stop.Token : cancellationToken);
                link.Close(stopped); // disconnected while connecting: the peer sees the connection end before any hello
                throw stopped;
            }
            var session = new UsbRedirHostSession(device, link, Log);
            _session = session;
            // Counter and state are updated before Start: once the session sends its hello the peer (and anyone watching
            // it) can observe this connection, and must then see the reconnect counted and the state Connected.
            if (isReconnect)
                Interlocked.Increment(ref _reconnects);
            State = ConnectionState.Connected;
            var over = link.Security.IsTls ? $" over {link.Security}" : "";
            Log.Info(Server is not null ? $"connected to {Server}{over}" : $"peer {session.Connection.Peer} connected{over}");
            session.Start();
            return session;
        }
    }

    /// <summary>What a session's end says about what to do next.</summary>
    private readonly record struct SessionEnd(Exception? Error, bool Rejected, string? PeerFilter, string Peer);

    /// <summary>
    /// Waits until the session ends or its device goes away; for the latter the peer is told (device_disconnect, its
    /// acknowledgement awaited) before the link closes. The session is disposed and its traffic added to the totals.
    /// </summary>
    private async Task<SessionEnd> RunSessionAsync(UsbRedirHostSession session, IUsbDevice device)
    {
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (device.Gone.Register(() => gone.TrySetResult()))
            await Task.WhenAny(session.Completion, gone.Task);
        if (!session.Completion.IsCompleted && !_stop.IsCancellationRequested)
        {
            // The session's own watch on Gone has sent device_disconnect: give the peer time to acknowledge, then close.
            await session.ReleaseDeviceAsync(GoneAckTimeout, "the device went away");
            session.Close();
        }
        var error = await session.Completion;
        var end = new SessionEnd(error, session.DeviceState == HostDeviceState.Rejected, session.PeerFilter, session.Connection.Peer);
        lock (_sessionGate)
            Retire(session);
        await session.DisposeAsync();
        return end;
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
    /// Listen mode: a peer connected. It is served as soon as no other is (one peer at a time): a peer that connects while
    /// one is served waits its turn, as with usbredirect's --as (it is often the same peer coming back before its old link
    /// was seen to drop); one more while that one waits is closed at once.
    /// </summary>
    private Task OnPeerAsync(Socket peer, CancellationToken stopping)
    {
        if (!_waitingPeer!.Writer.TryWrite(peer))
        {
            Log.Warning($"refused {peer.RemoteEndPoint}: one peer at a time, and another is already waiting for its turn");
            peer.Dispose();
        }
        else if (_session is { } serving)
        {
            Log.Info($"{peer.RemoteEndPoint} waits until {serving.Connection.Peer} leaves");
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops exporting: the peer is told the device is gone (device_disconnect, waiting for its ack up to
    /// <paramref name="timeout"/>), then the connection closes, is not retried and leaves its context's list; a listening
    /// connection stops listening. The device goes back to its source (a fixed device stays usable). On a connection that
    /// has already ended it only leaves that list, keeping its final state (Rejected, Failed) and error.
    /// </summary>
    public async Task DisconnectAsync(TimeSpan timeout)
    {
        if (Completion.IsCompleted)
        {
            _registry?.Remove(this);
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
        }
        await Task.WhenAny(_ended.Task, Task.Delay(timeout));
        if (State is not (ConnectionState.Rejected or ConnectionState.Failed))
            State = ConnectionState.Disconnected;
        _registry?.Remove(this);
    }

    public override string ToString() => $"{Id}: {DeviceIdentity} -> {Target} ({State})";
}
