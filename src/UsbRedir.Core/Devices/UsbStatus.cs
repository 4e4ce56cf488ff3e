namespace UsbRedir.Devices;

/// <summary>
/// Outcome of a USB transfer or request. The numeric values equal usbredir's status codes
/// so the protocol layer can put them on the wire unchanged.
/// </summary>
public enum UsbStatus : byte
{
    Success = 0,
    Cancelled = 1,
    Invalid = 2,
    IoError = 3,
    Stall = 4,
    Timeout = 5,
    Babble = 6,
}
