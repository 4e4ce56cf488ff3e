using System.Management.Automation;
using UsbRedir.Filtering;
using UsbRedir.PowerShell.Filtering;
using UsbRedir.Security;

namespace UsbRedir.PowerShell.Security;

/// <summary>Grant-UsbRedirClient: allows a client to plug devices into this machine's server, like usbredir clients allow.</summary>
[Cmdlet(VerbsSecurity.Grant, "UsbRedirClient", SupportsShouldProcess = true)]
[OutputType(typeof(AuthorizedClient))]
public sealed class GrantUsbRedirClientCommand : UsbRedirCmdlet
{
    /// <summary>The client's key fingerprint (SHA256:..., as the server's refusal printed it), or subject=DN.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Identity { get; set; } = "";

    /// <summary>A name to remember the client by.</summary>
    [Parameter]
    public string? Name { get; set; }

    /// <summary>The devices this client may push (rule objects or a filter string), on top of the server's filter.</summary>
    [Parameter]
    [FilterRuleTransformation]
    [ArgumentCompleter(typeof(FilterPresetCompleter))]
    public UsbRedirFilterRule[]? Filter { get; set; }

    /// <summary>The configuration folder (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir).</summary>
    [Parameter]
    public string? ConfigFolder { get; set; }

    protected override void Process()
    {
        var store = SecurityParameters.Store(this, ConfigFolder);
        TrustStore.ParseClient(Identity); // a bad identity is an error before any prompt
        if (ShouldProcess(Identity, $"Allow this client to plug devices into this machine's server ({store.Folder.File(AuthorizedClients.FileName)})"))
            WriteObject(store.AllowClient(Identity, Name, Filter));
    }
}
