namespace UsbRedir.Devices.Software;

/// <summary>Usage type of an isochronous endpoint (bmAttributes bits 4-5).</summary>
public enum UsbIsoUsage : byte
{
    Data = 0,
    Feedback = 1,
    ImplicitFeedback = 2,
}
