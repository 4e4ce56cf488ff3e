using UsbRedir.Sessions;

namespace UsbRedir.PowerShell.Connections;

/// <summary>Which connections -Id and -State name, for Get-UsbRedirConnection and Disconnect-UsbDevice; kept apart so xunit runs it.</summary>
internal static class ConnectionSelection
{
    /// <summary>
    /// The connections of <paramref name="all"/> with one of <paramref name="ids"/> (all when null) and one of
    /// <paramref name="states"/> (any when null), by id; plus one ConnectionNotFound error per id that matches none.
    /// </summary>
    public static (IReadOnlyList<UsbRedirConnection> Found, IReadOnlyList<UsbRedirException> Missing) Select(
        IReadOnlyList<UsbRedirConnection> all, IReadOnlyCollection<int>? ids, IReadOnlyCollection<ConnectionState>? states) =>
        IdSelection.Select(all, c => c.Id, ids, c => states is null || states.Contains(c.State), id =>
            new UsbRedirException("ConnectionNotFound", UsbRedirErrorCategory.ObjectNotFound, $"There is no connection with id {id}.",
                "Get-UsbRedirConnection lists the connections of this session; a connection leaves the list when it is disconnected.", id));
}
