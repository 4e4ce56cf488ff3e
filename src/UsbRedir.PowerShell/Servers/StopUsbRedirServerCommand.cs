using System.Management.Automation;
using UsbRedir.Server;

namespace UsbRedir.PowerShell.Servers;

/// <summary>
/// Stop-UsbRedirServer: stops listening, unplugs every device the server plugged in, closes its connections and, when
/// Start-UsbRedirServer made the controller (-Ports), removes the controller too.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "UsbRedirServer", SupportsShouldProcess = true, DefaultParameterSetName = ServerSet)]
[OutputType(typeof(UsbRedirServer))]
public sealed class StopUsbRedirServerCommand : UsbRedirCmdlet
{
    private const string ServerSet = "Server";
    private const string IdSet = "Id";

    [Parameter(ParameterSetName = ServerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public UsbRedirServer[] Server { get; set; } = [];

    [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(UsbRedirServerIdCompleter))]
    public int[] Id { get; set; } = [];

    /// <summary>How long to wait for each connection to end before giving up on it (default 10 s).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Write each server after stopping it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Begin() => DurationInput.CheckNotNegative(Timeout, nameof(Timeout));

    protected override void Process()
    {
        var targets = ParameterSetName == IdSet ? WriteMissing(ServerSelection.Select(Id)) : Server;
        foreach (var server in targets)
        {
            if (!ShouldProcess(server.ToString(), server.Connections.Count == 0 ? "Stop" : $"Stop, unplugging {server.Connections.Count} connection(s)"))
                continue;
            // Ctrl+C stops the wait, not the stop: that finishes on its own within Timeout.
            var activity = $"Stopping server {server}";
            WaitWithProgress(server.StopAsync(Timeout), activity);
            if (PassThru)
                WriteObject(server);
        }
    }
}
