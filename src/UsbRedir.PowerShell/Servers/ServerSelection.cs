using UsbRedir.Server;

namespace UsbRedir.PowerShell.Servers;

/// <summary>-Id of Get-/Stop-UsbRedirServer over the running servers of this module load.</summary>
internal static class ServerSelection
{
    public static (IReadOnlyList<UsbRedirServer> Found, IReadOnlyList<UsbRedirException> Missing) Select(IReadOnlyCollection<int>? ids) =>
        IdSelection.Select(UsbRedirModuleLifetime.Context.Servers.All, s => s.Id, ids, _ => true, id =>
            new UsbRedirException("UsbRedirServerNotFound", UsbRedirErrorCategory.ObjectNotFound, $"There is no running usbredir server with id {id}.",
                "Get-UsbRedirServer lists the running servers of this session; a server leaves the list when it stops.", id));
}
