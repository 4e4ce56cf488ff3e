using System.Management.Automation;
using UsbRedir.Sessions;

namespace UsbRedir.PowerShell.Connections;

/// <summary>
/// Get-UsbRedirConnection: the connections Connect-UsbDevice made in this process, live ones and those that ended by
/// themselves (rejected, gave up, device gone) until Disconnect-UsbDevice takes them off the list.
/// </summary>
[Cmdlet(VerbsCommon.Get, "UsbRedirConnection")]
[OutputType(typeof(UsbRedirConnection))]
public sealed class GetUsbRedirConnectionCommand : UsbRedirCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(UsbRedirConnectionIdCompleter))]
    public int[]? Id { get; set; }

    [Parameter]
    public ConnectionState[]? State { get; set; }

    protected override void Process()
    {
        foreach (var connection in WriteMissing(ConnectionSelection.Select(UsbRedirModuleLifetime.Context.Connections.All, Id, State)))
            WriteObject(connection);
    }
}
