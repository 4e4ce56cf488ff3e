using UsbRedir.Devices;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// Linux errno values (x86-64 / asm-generic) that URB completions carry, and the mapping from
/// <see cref="UsbStatus"/> that usbcore drivers expect (Documentation/driver-api/usb/error-codes.rst).
/// </summary>
public static class LinuxErrno
{
    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int ENODEV = 19;
    public const int EXDEV = 18;
    public const int EINVAL = 22;
    public const int EPIPE = 32;
    public const int EPROTO = 71;
    public const int EOVERFLOW = 75;
    public const int ECONNRESET = 104;
    public const int ESHUTDOWN = 108;
    public const int ETIMEDOUT = 110;
    public const int EREMOTEIO = 121;

    /// <summary>The URB status (0 or a negative errno) for a transfer outcome.</summary>
    public static int UrbStatus(UsbStatus status) => status switch
    {
        UsbStatus.Success => 0,
        UsbStatus.Cancelled => -ECONNRESET,
        UsbStatus.Stall => -EPIPE,
        UsbStatus.Timeout => -ETIMEDOUT,
        UsbStatus.Babble => -EOVERFLOW,
        UsbStatus.Invalid => -EINVAL,
        // IoError is also what a vanished device reports; -EPROTO makes drivers retry or reset rather than give up.
        _ => -EPROTO,
    };
}
