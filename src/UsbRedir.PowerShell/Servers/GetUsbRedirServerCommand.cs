using System.Management.Automation;
using UsbRedir.Server;

namespace UsbRedir.PowerShell.Servers;

/// <summary>Get-UsbRedirServer: the servers Start-UsbRedirServer runs in this process, with their connections.</summary>
[Cmdlet(VerbsCommon.Get, "UsbRedirServer")]
[OutputType(typeof(UsbRedirServer))]
public sealed class GetUsbRedirServerCommand : UsbRedirCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(UsbRedirServerIdCompleter))]
    public int[]? Id { get; set; }

    protected override void Process()
    {
        foreach (var server in WriteMissing(ServerSelection.Select(Id)))
            WriteObject(server);
    }
}
