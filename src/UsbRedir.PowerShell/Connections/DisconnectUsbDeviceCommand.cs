using System.Management.Automation;
using UsbRedir.Sessions;

namespace UsbRedir.PowerShell.Connections;

/// <summary>
/// Disconnect-UsbDevice: tells the peer the device is gone, waits for its acknowledgement, closes the connection and
/// takes it off Get-UsbRedirConnection's list. The device itself stays usable and can be connected again.
/// </summary>
[Cmdlet(VerbsCommunications.Disconnect, "UsbDevice", SupportsShouldProcess = true, DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(UsbRedirConnection))]
public sealed class DisconnectUsbDeviceCommand : UsbRedirCmdlet
{
    private const string ConnectionSet = "Connection";
    private const string IdSet = "Id";

    /// <summary>Connection objects, e.g. from Connect-UsbDevice or Get-UsbRedirConnection.</summary>
    [Parameter(ParameterSetName = ConnectionSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public UsbRedirConnection[] Connection { get; set; } = [];

    [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public int[] Id { get; set; } = [];

    /// <summary>How long to wait for the peer's acknowledgement before closing anyway (default 5 s).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Write each connection after disconnecting it, with its final counters.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Begin()
    {
        if (Timeout < TimeSpan.Zero)
            throw new UsbRedirException("TimeoutInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"-Timeout cannot be negative (got {Timeout}).", "Give 0 or more seconds, e.g. -Timeout 5.", Timeout);
    }

    protected override void Process()
    {
        IReadOnlyList<UsbRedirConnection> targets = Connection;
        if (ParameterSetName == IdSet)
        {
            var (found, missing) = ConnectionSelection.Select(ConnectionRegistry.All, Id, null);
            foreach (var error in missing)
                WriteError(error);
            targets = found;
        }
        foreach (var connection in targets)
        {
            if (!ShouldProcess(connection.ToString(), "Disconnect"))
                continue;
            // Ctrl+C stops the wait, not the disconnect: that finishes on its own within Timeout.
            connection.DisconnectAsync(Timeout).WaitAsync(CancellationToken).GetAwaiter().GetResult();
            if (PassThru)
                WriteObject(connection);
        }
    }
}
