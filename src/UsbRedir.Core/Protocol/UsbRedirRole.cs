namespace UsbRedir.Protocol;

/// <summary>Which end of a usbredir connection the codec speaks for; it decides which packet types may be sent and received.</summary>
public enum UsbRedirRole
{
    /// <summary>The side where the physical device is plugged in (usbredirect, usbredirhost).</summary>
    UsbHost,
    /// <summary>The side that uses the device (QEMU's usb-redir).</summary>
    UsbGuest,
}
