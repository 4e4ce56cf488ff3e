namespace UsbRedir.Server;

/// <summary>
/// The process-wide list of running servers, so front ends can find them later (Get-UsbRedirServer,
/// Stop-UsbRedirServer) and stop them all when the module is removed.
/// </summary>
public static class UsbRedirServerRegistry
{
    private static readonly List<UsbRedirServer> Servers = [];
    private static int _nextId;

    public static IReadOnlyList<UsbRedirServer> All { get { lock (Servers) return Servers.ToArray(); } }

    internal static int Add(UsbRedirServer server)
    {
        lock (Servers)
        {
            Servers.Add(server);
            return Interlocked.Increment(ref _nextId);
        }
    }

    internal static void Remove(UsbRedirServer server)
    {
        lock (Servers)
            Servers.Remove(server);
    }

    /// <summary>Stops every server (module removal, process exit).</summary>
    public static Task StopAllAsync(TimeSpan timeout) => Task.WhenAll(All.Select(s => s.StopAsync(timeout)));
}
