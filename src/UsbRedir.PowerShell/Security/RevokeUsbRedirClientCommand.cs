using System.Management.Automation;
using UsbRedir.Security;

namespace UsbRedir.PowerShell.Security;

/// <summary>Revoke-UsbRedirClient: stops allowing a client (authorized_clients), like usbredir clients revoke.</summary>
[Cmdlet(VerbsSecurity.Revoke, "UsbRedirClient", SupportsShouldProcess = true)]
[OutputType(typeof(AuthorizedClient))]
public sealed class RevokeUsbRedirClientCommand : UsbRedirCmdlet
{
    /// <summary>The client's key fingerprint or subject=DN; Get-UsbRedirClient's objects bind by their Identity.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string[] Identity { get; set; } = [];

    /// <summary>The configuration folder (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir).</summary>
    [Parameter]
    public string? ConfigFolder { get; set; }

    /// <summary>Write each entry removed.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var store = SecurityParameters.Store(this, ConfigFolder);
        foreach (var identity in Identity)
        {
            try
            {
                TrustStore.ParseClient(identity);
                if (!ShouldProcess(identity, "Stop allowing this client"))
                    continue;
                foreach (var removed in store.RevokeClient(identity))
                    if (PassThru)
                        WriteObject(removed);
            }
            catch (UsbRedirException e)
            {
                WriteError(e); // one unknown client must not stop the others
            }
        }
    }
}
