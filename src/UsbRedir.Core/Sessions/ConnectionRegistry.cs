namespace UsbRedir.Sessions;

/// <summary>
/// The device connections of one <see cref="UsbRedirContext"/>, so its front end can find them later
/// (Get-UsbRedirConnection) and stop them all when it ends. A connection that ends by itself (rejected, gave up
/// reconnecting, device gone) stays listed with its final state and error, the way a finished job does, until
/// <see cref="UsbRedirConnection.DisconnectAsync"/> takes it off; only a failed first connect is never listed.
/// </summary>
public sealed class ConnectionRegistry
{
    private readonly List<UsbRedirConnection> _connections = [];
    private int _nextId;

    internal ConnectionRegistry()
    {
    }

    public IReadOnlyList<UsbRedirConnection> All { get { lock (_connections) return _connections.ToArray(); } }

    /// <summary>Lists <paramref name="connection"/> and gives it its id, unless its device is already connected here.</summary>
    /// <exception cref="UsbRedirException">DeviceAlreadyConnected: a running connection of this context exports the same source.</exception>
    internal int Add(UsbRedirConnection connection)
    {
        lock (_connections)
        {
            if (_connections.FirstOrDefault(c => c.Source.Equals(connection.Source) && !c.Completion.IsCompleted) is { } existing)
                throw new UsbRedirException("DeviceAlreadyConnected", UsbRedirErrorCategory.ResourceBusy,
                    $"{connection.DeviceIdentity} is already connected to {existing.Target} (connection {existing.Id}).",
                    $"Disconnect connection {existing.Id} first, or stop the process that holds it.", connection.Source);
            _connections.Add(connection);
            return ++_nextId;
        }
    }

    internal void Remove(UsbRedirConnection connection)
    {
        lock (_connections)
            _connections.Remove(connection);
    }

    /// <summary>Disconnects every connection (the front end ends).</summary>
    public Task DisconnectAllAsync(TimeSpan timeout) => Task.WhenAll(All.Select(c => c.DisconnectAsync(timeout)));
}
