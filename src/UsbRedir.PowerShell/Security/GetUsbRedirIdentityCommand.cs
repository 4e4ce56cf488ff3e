using System.Management.Automation;
using UsbRedir.Security;

namespace UsbRedir.PowerShell.Security;

/// <summary>Get-UsbRedirIdentity: this machine's own client and server keys (created when missing), like usbredir identity.</summary>
[Cmdlet(VerbsCommon.Get, "UsbRedirIdentity")]
[OutputType(typeof(LocalIdentity))]
public sealed class GetUsbRedirIdentityCommand : UsbRedirCmdlet
{
    /// <summary>Only this role's identity; both by default.</summary>
    [Parameter(Position = 0)]
    public IdentityRole[]? Role { get; set; }

    /// <summary>The configuration folder (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir).</summary>
    [Parameter]
    public string? ConfigFolder { get; set; }

    protected override void End()
    {
        var store = SecurityParameters.Store(this, ConfigFolder);
        foreach (var role in Role ?? [IdentityRole.Client, IdentityRole.Server])
            WriteObject(store.Identity(role));
    }
}
