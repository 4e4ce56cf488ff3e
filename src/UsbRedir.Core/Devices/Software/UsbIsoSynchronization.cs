namespace UsbRedir.Devices.Software;

/// <summary>Synchronization type of an isochronous endpoint (bmAttributes bits 2-3, USB 2.0 5.12.4.1).</summary>
public enum UsbIsoSynchronization : byte
{
    None = 0,
    Asynchronous = 1,
    Adaptive = 2,
    Synchronous = 3,
}
