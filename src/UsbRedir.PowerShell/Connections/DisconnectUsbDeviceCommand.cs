using System.Management.Automation;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.Sessions;

namespace UsbRedir.PowerShell.Connections;

/// <summary>
/// Disconnect-UsbDevice: tells the peer the device is gone, waits for its acknowledgement, closes the connection and
/// takes it off Get-UsbRedirConnection's list. The device itself stays usable and can be connected again.
/// </summary>
[Cmdlet(VerbsCommunications.Disconnect, "UsbDevice", SupportsShouldProcess = true, DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(UsbRedirConnection), ParameterSetName = [ConnectionSet, IdSet])]
[OutputType(typeof(UsbDevicePlug), ParameterSetName = [PlugSet])]
public sealed class DisconnectUsbDeviceCommand : UsbRedirCmdlet
{
    private const string ConnectionSet = "Connection";
    private const string IdSet = "Id";
    private const string PlugSet = "Plug";

    /// <summary>Connection objects, e.g. from Connect-UsbDevice or Get-UsbRedirConnection.</summary>
    [Parameter(ParameterSetName = ConnectionSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public UsbRedirConnection[] Connection { get; set; } = [];

    [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(UsbRedirConnectionIdCompleter))]
    public int[] Id { get; set; } = [];

    /// <summary>Devices plugged into a local controller, from Connect-UsbDevice -Controller.</summary>
    [Parameter(ParameterSetName = PlugSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public UsbDevicePlug[] Plug { get; set; } = [];

    /// <summary>How long to wait for the peer's acknowledgement before closing anyway (default 5 s).</summary>
    [Parameter(ParameterSetName = ConnectionSet)]
    [Parameter(ParameterSetName = IdSet)]
    [DurationTransformation]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Write each connection after disconnecting it, with its final counters.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Begin() => DurationInput.CheckNotNegative(Timeout, nameof(Timeout));

    protected override void Process()
    {
        if (ParameterSetName == PlugSet)
        {
            foreach (var plug in Plug)
                Unplug(plug);
            return;
        }
        var targets = ParameterSetName == IdSet ? WriteMissing(ConnectionSelection.Select(UsbRedirModuleLifetime.Context.Connections.All, Id, null)) : Connection;
        foreach (var connection in targets)
        {
            if (!ShouldProcess(connection.ToString(), "Disconnect"))
                continue;
            // Ctrl+C stops the wait, not the disconnect: that finishes on its own within Timeout.
            var activity = $"Disconnecting {connection}";
            WaitWithProgress(connection.DisconnectAsync(Timeout), activity);
            if (PassThru)
                WriteObject(connection);
        }
    }

    private void Unplug(UsbDevicePlug plug)
    {
        if (!plug.IsPlugged)
        {
            // Gone already (unplugged, device disposed, controller removed): nothing to do, and the port may hold another device now.
            WriteVerbose($"{plug} is no longer plugged in.");
        }
        else if (ShouldProcess(plug.ToString(), "Unplug"))
        {
            plug.Controller.Controller.UnplugAsync(plug.Port, CancellationToken).GetAwaiter().GetResult();
        }
        else
        {
            return;
        }
        if (PassThru)
            WriteObject(plug);
    }
}
