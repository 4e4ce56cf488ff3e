namespace UsbRedir.Controllers.Urbs;

/// <summary>
/// How a URB ended, in the terms of Linux's URB status codes (Documentation/driver-api/usb/error-codes.rst):
/// both backends hand the kernel a negative errno, <see cref="UrbStatusCodes.ToLinuxErrno"/> gives it.
/// </summary>
public enum UrbStatus
{
    Success,

    /// <summary>The endpoint stalled (-EPIPE).</summary>
    Stall,

    /// <summary>The URB was unlinked before it finished (-ECONNRESET).</summary>
    Cancelled,

    /// <summary>A short IN transfer with <see cref="UrbFlags.ShortNotOk"/> set (-EREMOTEIO).</summary>
    ShortPacket,

    /// <summary>No response in time (-ETIMEDOUT).</summary>
    Timeout,

    /// <summary>The device sent more data than fits (-EOVERFLOW).</summary>
    Babble,

    /// <summary>A transfer error the device reported (-EPROTO).</summary>
    ProtocolError,

    /// <summary>The request is invalid for this device or endpoint (-EINVAL).</summary>
    Invalid,

    /// <summary>The device is gone (-ENODEV).</summary>
    NoDevice,

    /// <summary>An isochronous packet that was not transferred (-EXDEV; per packet).</summary>
    NotTransferred,
}
