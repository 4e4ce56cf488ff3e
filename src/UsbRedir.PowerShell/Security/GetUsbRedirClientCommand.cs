using System.Management.Automation;
using UsbRedir.Security;

namespace UsbRedir.PowerShell.Security;

/// <summary>Get-UsbRedirClient: the clients this machine's server allows (authorized_clients), like usbredir clients list.</summary>
[Cmdlet(VerbsCommon.Get, "UsbRedirClient")]
[OutputType(typeof(AuthorizedClient))]
public sealed class GetUsbRedirClientCommand : UsbRedirCmdlet
{
    /// <summary>The configuration folder (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir).</summary>
    [Parameter]
    public string? ConfigFolder { get; set; }

    protected override void End()
    {
        var clients = SecurityParameters.Store(this, ConfigFolder).Clients();
        SecurityParameters.WriteWarnings(this, clients.Warnings);
        foreach (var client in clients.Entries)
            WriteObject(client);
    }
}
