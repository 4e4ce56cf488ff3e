namespace UsbRedir.Sessions;

/// <summary>Lifecycle of a device connection (Get-UsbRedirConnection's State).</summary>
public enum ConnectionState
{
    /// <summary>Connecting to the server for the first time with this device.</summary>
    Connecting,
    /// <summary>A peer has the device.</summary>
    Connected,
    /// <summary>The link dropped; waiting to retry (see the reconnect policy).</summary>
    Reconnecting,
    /// <summary>Ended by Disconnect, or by a device that went away and that its source cannot yield again.</summary>
    Disconnected,
    /// <summary>The peer's filter refused the device; not retried.</summary>
    Rejected,
    /// <summary>Ended by an error that retrying cannot fix (see LastError).</summary>
    Failed,
    /// <summary>The device went away (unplugged); waiting for it to come back, then it is exported again.</summary>
    WaitingForDevice,
    /// <summary>A listening connection with no peer: waiting for one to connect (QEMU's usb-redir with a client chardev).</summary>
    Listening,
}
