using UsbRedir.Devices;
using UsbRedir.Sessions;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Server;

/// <summary>
/// One connection a <see cref="UsbRedirServer"/> accepted: the peer, the device it brought, traffic and errors, as
/// Get-UsbRedirServer shows them. It runs in the background; every step is guarded, so failures end up in
/// <see cref="State"/>, <see cref="LastError"/> and <see cref="Log"/>.
/// </summary>
public sealed class UsbRedirServerConnection
{
    private readonly UsbRedirGuestSession _session;
    private readonly IDeviceSink _sink;
    private readonly CancellationToken _serverStopping;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IUsbDevice? _device;
    private volatile string? _deviceDescription;
    private int _devicesAttached;

    internal UsbRedirServerConnection(int id, UsbRedirServer server, UsbRedirGuestSession session, IDeviceSink sink, CancellationToken serverStopping)
    {
        Id = id;
        Server = server;
        _session = session;
        _sink = sink;
        _serverStopping = serverStopping;
    }

    /// <summary>Number of the connection within its server, from 1.</summary>
    public int Id { get; }

    public UsbRedirServer Server { get; }

    /// <summary>The peer's address and port.</summary>
    public string Peer => _session.Connection.Peer;

    /// <summary>How the link is protected (plaintext or TLS) and who the peer is by its certificate, for display and per-client policy.</summary>
    public ConnectionSecurity Security => _session.Connection.Security;

    public DateTimeOffset StartTime { get; } = DateTimeOffset.Now;

    /// <summary>When the connection ended, or null while it runs.</summary>
    public DateTimeOffset? EndTime { get; private set; }

    // Volatile: written by the connection's background loop, read by cmdlets and tests on other threads.
    private volatile ServerConnectionState _state = ServerConnectionState.Waiting;

    public ServerConnectionState State { get => _state; private set => _state = value; }

    /// <summary>The device attached to the sink right now, or null.</summary>
    public IUsbDevice? Device => _device;

    /// <summary>The last device this connection brought (kept after it is gone, for display).</summary>
    public string? DeviceDescription => _deviceDescription;

    /// <summary>Devices this connection handed to the sink so far (a connection may carry several in turn).</summary>
    public int DevicesAttached => Volatile.Read(ref _devicesAttached);

    /// <summary>Devices the filter refused.</summary>
    public int DevicesRejected => _session.RejectedDevices;

    /// <summary>Why the last refused device was refused, or null.</summary>
    public string? LastRejection => _session.LastRejection;

    public string? PeerVersion => _session.PeerVersion;

    /// <summary>The filter the peer announced, if any.</summary>
    public string? PeerFilter => _session.PeerFilter;

    public long BytesSent => _session.Connection.BytesSent;
    public long BytesReceived => _session.Connection.BytesReceived;

    /// <summary>Data packets each way: transfers we sent to the device, answers it sent back.</summary>
    public long TransfersSent => _session.PacketsSent;
    public long TransfersReceived => _session.PacketsReceived;

    public SessionLog Log => _session.Log;

    public int ErrorCount => Log.ErrorCount;

    public string? LastError => Log.LastError?.Message;

    /// <summary>Completes when the connection has ended and its device is detached.</summary>
    public Task Completion => _ended.Task;

    /// <summary>Ends the connection: its device is detached from the sink, then the socket closes.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        _session.Close();
        await Task.WhenAny(_ended.Task, Task.Delay(timeout));
    }

    internal async Task RunAsync()
    {
        try
        {
            _session.Start();
            while (await _session.NextDeviceAsync(_serverStopping) is { } device)
            {
                if (!await AttachAsync(device))
                    break;
                await WaitUntilGoneAsync(device);
                await DetachAsync(device);
            }
        }
        catch (OperationCanceledException) when (_serverStopping.IsCancellationRequested) { }
        catch (Exception e)
        {
            Log.Error($"connection {Id} from {Peer} failed: {e.Message}");
        }
        finally
        {
            await FinishAsync();
        }
    }

    private async Task<bool> AttachAsync(RemoteUsbDevice device)
    {
        State = ServerConnectionState.Attaching;
        _deviceDescription = device.Description;
        try
        {
            await _sink.AttachAsync(this, device, _serverStopping);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_serverStopping.IsCancellationRequested)
        {
            var reason = e as UsbRedirException ?? new UsbRedirException("DeviceAttachFailed", UsbRedirErrorCategory.DeviceError,
                $"Could not attach {device.Description}: {e.Message}", null, device, e);
            Log.Error($"refused {device.Description}: {reason.Message}" + (reason.RecommendedAction is { } fix ? $" ({fix})" : ""));
            _session.Close(reason);
            return false;
        }
        _device = device;
        Interlocked.Increment(ref _devicesAttached);
        State = ServerConnectionState.Attached;
        Log.Info($"attached {device.Description}");
        return true;
    }

    private async Task WaitUntilGoneAsync(RemoteUsbDevice device)
    {
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var onGone = device.Gone.Register(() => gone.TrySetResult());
        await using var onStop = _serverStopping.Register(() => gone.TrySetResult());
        await gone.Task;
    }

    private async Task DetachAsync(IUsbDevice device)
    {
        _device = null;
        try
        {
            await _sink.DetachAsync(this, device);
            Log.Info($"detached {device.Description}");
        }
        catch (Exception e)
        {
            Log.Error($"detaching {device.Description} failed: {e.Message}");
        }
        if (State == ServerConnectionState.Attached)
            State = ServerConnectionState.Waiting;
    }

    private async Task FinishAsync()
    {
        try
        {
            if (_device is { } device)
                await DetachAsync(device);
            _session.Close();
            var reason = await _session.Completion.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            State = reason is not null ? ServerConnectionState.Failed
                : _session.RejectedDevices > 0 && DevicesAttached == 0 ? ServerConnectionState.Rejected
                : ServerConnectionState.Closed;
            await _session.DisposeAsync();
        }
        catch (Exception e)
        {
            Log.Error($"closing connection {Id}: {e.Message}");
            State = ServerConnectionState.Failed;
        }
        finally
        {
            EndTime = DateTimeOffset.Now;
            Server.OnConnectionEnded(this);
            _ended.TrySetResult();
        }
    }

    public override string ToString() => $"{Id}: {Peer} {State}" + (DeviceDescription is { } d ? $" ({d})" : "");
}
