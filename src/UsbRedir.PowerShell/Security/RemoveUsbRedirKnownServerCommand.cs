using System.Management.Automation;
using UsbRedir.Security;
using UsbRedir.Transport;

namespace UsbRedir.PowerShell.Security;

/// <summary>Remove-UsbRedirKnownServer: forgets a server's recorded key (known_servers), like usbredir trust remove.</summary>
[Cmdlet(VerbsCommon.Remove, "UsbRedirKnownServer", SupportsShouldProcess = true)]
[OutputType(typeof(KnownServer))]
public sealed class RemoveUsbRedirKnownServerCommand : UsbRedirCmdlet
{
    /// <summary>HOST:PORT as connected to; Get-UsbRedirKnownServer's objects bind by their Server.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string[] Server { get; set; } = [];

    /// <summary>The configuration folder (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir).</summary>
    [Parameter]
    public string? ConfigFolder { get; set; }

    /// <summary>Write each entry removed.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var store = SecurityParameters.Store(this, ConfigFolder);
        foreach (var name in Server)
        {
            try
            {
                var server = UsbRedirEndpoint.Parse(name);
                if (!ShouldProcess(KnownServers.KeyOf(server), "Forget the recorded key (the next connection records the key it then shows)"))
                    continue;
                foreach (var removed in store.ForgetServer(server))
                    if (PassThru)
                        WriteObject(removed);
            }
            catch (UsbRedirException e)
            {
                WriteError(e);
            }
        }
    }
}
