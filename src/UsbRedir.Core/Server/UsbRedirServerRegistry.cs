namespace UsbRedir.Server;

/// <summary>
/// The running servers of one <see cref="UsbRedirContext"/>, so its front end can find them later (Get-UsbRedirServer,
/// Stop-UsbRedirServer) and stop them all when it ends. A server leaves the list when it stops.
/// </summary>
public sealed class UsbRedirServerRegistry
{
    private readonly List<UsbRedirServer> _servers = [];
    private int _nextId;

    internal UsbRedirServerRegistry()
    {
    }

    public IReadOnlyList<UsbRedirServer> All { get { lock (_servers) return _servers.ToArray(); } }

    internal int Add(UsbRedirServer server)
    {
        lock (_servers)
        {
            _servers.Add(server);
            return ++_nextId;
        }
    }

    internal void Remove(UsbRedirServer server)
    {
        lock (_servers)
            _servers.Remove(server);
    }

    /// <summary>Stops every server (the front end ends); one failing to stop does not keep the others running.</summary>
    public Task StopAllAsync(TimeSpan timeout) => Task.WhenAll(All.Select(async s =>
    {
        try
        {
            await s.StopAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The others still stop; the server's own log says what failed.
        }
    }));
}
