namespace UsbRedir.Sessions;

/// <summary>
/// The process-wide list of device connections, so front ends can find them later (Get-UsbRedirConnection)
/// and stop them all when the module is removed. A connection that ends by itself (rejected, gave up reconnecting,
/// device gone) stays listed with its final state and error, the way a finished job does, until
/// <see cref="UsbRedirConnection.DisconnectAsync"/> takes it off; only a failed first connect is never listed.
/// </summary>
public static class ConnectionRegistry
{
    private static readonly List<UsbRedirConnection> Connections = [];
    private static int _nextId;

    public static IReadOnlyList<UsbRedirConnection> All { get { lock (Connections) return Connections.ToArray(); } }

    internal static int Add(UsbRedirConnection connection)
    {
        lock (Connections)
        {
            if (Connections.FirstOrDefault(c => ReferenceEquals(c.Device, connection.Device) && !c.Completion.IsCompleted) is { } existing)
                throw new UsbRedirException("DeviceAlreadyConnected", UsbRedirErrorCategory.ResourceBusy,
                    $"{connection.Device.Description} is already connected to {existing.Server} (connection {existing.Id}).",
                    $"Disconnect connection {existing.Id} first, or stop the process that holds it.", connection.Device);
            Connections.Add(connection);
            return Interlocked.Increment(ref _nextId);
        }
    }

    internal static void Remove(UsbRedirConnection connection)
    {
        lock (Connections)
            Connections.Remove(connection);
    }

    /// <summary>Disconnects every connection (module removal, process exit).</summary>
    public static async Task DisconnectAllAsync(TimeSpan timeout)
    {
        await Task.WhenAll(All.Select(c => c.DisconnectAsync(timeout)));
    }
}
