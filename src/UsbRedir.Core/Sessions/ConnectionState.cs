namespace UsbRedir.Sessions;

/// <summary>Lifecycle of an outgoing device connection.</summary>
public enum ConnectionState
{
    Connecting,
    Connected,
    /// <summary>The link dropped; waiting to retry (see the reconnect policy).</summary>
    Reconnecting,
    /// <summary>Ended by Disconnect or by the device going away.</summary>
    Disconnected,
    /// <summary>The peer's filter refused the device; not retried.</summary>
    Rejected,
    /// <summary>Ended by an error that retrying cannot fix (see LastError).</summary>
    Failed,
}
