using System.Management.Automation;
using UsbRedir.Server;
using UsbRedir.Sessions;

namespace UsbRedir.PowerShell;

/// <summary>
/// A connection or a server as a PowerShell job (Connect-UsbDevice -AsJob, Start-UsbRedirServer -AsJob), as ThreadJob
/// makes a script block one: it is in the session's job table, so Get-Job lists it, Wait-Job waits until it ends
/// (the connection disconnected, was refused or gave up; the server stopped), Receive-Job returns its log as
/// <see cref="SessionLogEntry"/> objects (and, when it failed, the error that ended it), Stop-Job disconnects the
/// connection or stops the server, and Remove-Job forgets it. The object itself is <see cref="Target"/>.
/// </summary>
/// <remarks>
/// The engine calls the log listener and the completion continuation on its own threads; they only add to the job's
/// thread-safe data collections and set its state, as ThreadJob does. Nothing here writes to a pipeline.
/// </remarks>
public sealed class UsbRedirJob : Job
{
    /// <summary>How long Stop-Job waits for the peer (a connection) or for the devices to unplug (a server).</summary>
    internal static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private Func<string> _status = () => "Starting";
    private Func<TimeSpan, Task> _stop = _ => Task.CompletedTask;
    private string _location = "";
    private int _ended;

    private UsbRedirJob(string command, string name)
        : base(command, name) => PSJobTypeName = nameof(UsbRedirJob);

    /// <summary>The <see cref="UsbRedirConnection"/> or <see cref="UsbRedirServer"/> this job follows.</summary>
    public object? Target { get; private set; }

    public override string StatusMessage => _status();

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0;

    public override string Location => _location;

    /// <summary>A job that collects the log from the start: pass <see cref="Collect"/> as the engine's log listener, then call a Follow method.</summary>
    internal static UsbRedirJob Create(string command, string name) => new(command, name);

    /// <summary>The engine's log listener: each entry becomes output of the job (Receive-Job).</summary>
    internal void Collect(SessionLogEntry entry) => Output.Add(PSObject.AsPSObject(entry));

    internal UsbRedirJob Follow(UsbRedirConnection connection)
    {
        Name = $"UsbRedir connection {connection.Id}";
        return Follow(connection, connection.Target, connection.Completion, () => connection.State.ToString(),
            connection.DisconnectAsync,
            () => connection.State is ConnectionState.Failed or ConnectionState.Rejected
                ? new UsbRedirException("ConnectionEnded", UsbRedirErrorCategory.ConnectionError,
                    $"Connection {connection.Id} ({connection.DeviceIdentity} -> {connection.Target}) ended {connection.State}: {connection.LastError}",
                    "Receive-Job shows the connection's log; check that the server runs and accepts the device (its filter), then connect again.",
                    connection)
                : null);
    }

    internal UsbRedirJob Follow(UsbRedirServer server, Func<TimeSpan, Task> stop)
    {
        Name = $"UsbRedir server {server.Id}";
        return Follow(server, server.LocalEndPoint.ToString(), server.Completion,
            () => server.IsRunning ? $"Running, {server.Connections.Count} connections" : "Stopped", stop, () => null);
    }

    private UsbRedirJob Follow(object target, string location, Task completion, Func<string> status, Func<TimeSpan, Task> stop, Func<UsbRedirException?> failure)
    {
        Target = target;
        _location = location;
        _status = status;
        _stop = stop;
        SetJobState(JobState.Running);
        completion.ContinueWith(ended =>
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0)
                return; // Stop-Job got there first
            var error = ended.Exception?.GetBaseException() is { } e ? AsUsbRedirException(e) : failure();
            if (error is null)
            {
                SetJobState(JobState.Completed);
                return;
            }
            Error.Add(UsbRedirErrorRecord.From(error));
            SetJobState(JobState.Failed);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return this;
    }

    private UsbRedirException AsUsbRedirException(Exception e) => e as UsbRedirException
        ?? new UsbRedirException("UsbRedirJobFailed", UsbRedirErrorCategory.InvalidOperation, $"{Name} failed: {e.Message}",
            "Receive-Job shows its log; start it again (Connect-UsbDevice or Start-UsbRedirServer with -AsJob).", Target, e);

    public override void StopJob()
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
            return;
        SetJobState(JobState.Stopping);
        try
        {
            _stop(StopTimeout).Wait(StopTimeout + StopTimeout);
        }
        catch (AggregateException e)
        {
            Error.Add(UsbRedirErrorRecord.From(AsUsbRedirException(e.GetBaseException())));
        }
        SetJobState(JobState.Stopped);
    }
}
