namespace UsbRedir.Devices;

/// <summary>Endpoint transfer type; values equal the USB spec and usbredir's ep_info types.</summary>
public enum UsbEndpointType : byte
{
    Control = 0,
    Isochronous = 1,
    Bulk = 2,
    Interrupt = 3,
    Invalid = 255,
}
