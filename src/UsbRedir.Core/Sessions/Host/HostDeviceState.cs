namespace UsbRedir.Sessions;

/// <summary>Where the exported device stands with the usb-guest peer.</summary>
public enum HostDeviceState
{
    /// <summary>Waiting for the peer's hello before announcing the device.</summary>
    Announcing,
    /// <summary>interface_info, ep_info and device_connect were sent; the peer may use the device.</summary>
    Connected,
    /// <summary>device_disconnect was sent; waiting for the peer's acknowledgement.</summary>
    Disconnecting,
    /// <summary>
    /// The device came back from a reset as another device (new descriptors): device_disconnect was sent, and the new
    /// device is announced once the peer acknowledges it.
    /// </summary>
    Reconnecting,
    /// <summary>The device is no longer offered on this connection.</summary>
    Released,
    /// <summary>The peer's filter refused the device (filter_reject).</summary>
    Rejected,
}
