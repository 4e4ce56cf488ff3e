using System.Management.Automation;
using UsbRedir.Security;
using UsbRedir.Transport;

namespace UsbRedir.PowerShell.Security;

/// <summary>Get-UsbRedirKnownServer: the servers this machine's client trusts (known_servers), like usbredir trust list.</summary>
[Cmdlet(VerbsCommon.Get, "UsbRedirKnownServer")]
[OutputType(typeof(KnownServer))]
public sealed class GetUsbRedirKnownServerCommand : UsbRedirCmdlet
{
    /// <summary>Only these servers (HOST:PORT as connected to).</summary>
    [Parameter(Position = 0)]
    public string[]? Server { get; set; }

    /// <summary>The configuration folder (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir).</summary>
    [Parameter]
    public string? ConfigFolder { get; set; }

    protected override void End()
    {
        var servers = SecurityParameters.Store(this, ConfigFolder).Servers();
        SecurityParameters.WriteWarnings(this, servers.Warnings);
        var wanted = Server?.Select(s => KnownServers.KeyOf(UsbRedirEndpoint.Parse(s))).ToHashSet();
        foreach (var entry in servers.Entries)
            if (wanted is null || wanted.Contains(entry.Server))
                WriteObject(entry);
    }
}
