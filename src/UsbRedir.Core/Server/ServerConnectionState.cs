namespace UsbRedir.Server;

/// <summary>Where one accepted connection of a <see cref="UsbRedirServer"/> stands.</summary>
public enum ServerConnectionState
{
    /// <summary>Connected; waiting for the peer's device (hello, announcement, descriptors).</summary>
    Waiting,
    /// <summary>The device is being handed to the sink (e.g. plugged into a controller port).</summary>
    Attaching,
    /// <summary>The device is attached and in use.</summary>
    Attached,
    /// <summary>Ended after the filter refused the peer's device.</summary>
    Rejected,
    /// <summary>Ended normally: the peer closed the connection or the server stopped.</summary>
    Closed,
    /// <summary>Ended by an error (protocol violation, lost connection, the sink refused the device); see LastError.</summary>
    Failed,
}
