using UsbRedir.Devices;

namespace UsbRedir.Controllers.Urbs;

/// <summary>Conversions between device-level statuses, URB statuses and the Linux errno values the backends send.</summary>
public static class UrbStatusCodes
{
    // Linux errno values (asm-generic/errno-base.h, errno.h); identical on every architecture .NET runs Linux on.
    private const int ENODEV = 19, EXDEV = 18, EINVAL = 22, EPIPE = 32, EPROTO = 71, EOVERFLOW = 75,
        ECONNRESET = 104, ETIMEDOUT = 110, EREMOTEIO = 121;

    /// <summary>The negative errno (or 0) a Linux HCD gives back for <paramref name="status"/>.</summary>
    public static int ToLinuxErrno(UrbStatus status) => status switch
    {
        UrbStatus.Success => 0,
        UrbStatus.Stall => -EPIPE,
        UrbStatus.Cancelled => -ECONNRESET,
        UrbStatus.ShortPacket => -EREMOTEIO,
        UrbStatus.Timeout => -ETIMEDOUT,
        UrbStatus.Babble => -EOVERFLOW,
        UrbStatus.ProtocolError => -EPROTO,
        UrbStatus.Invalid => -EINVAL,
        UrbStatus.NoDevice => -ENODEV,
        UrbStatus.NotTransferred => -EXDEV,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>What a device-level status means for the URB; an I/O error of a device that is gone is <see cref="UrbStatus.NoDevice"/>.</summary>
    public static UrbStatus FromUsbStatus(UsbStatus status, bool deviceGone) => status switch
    {
        UsbStatus.Success => UrbStatus.Success,
        UsbStatus.Cancelled => UrbStatus.Cancelled,
        UsbStatus.Invalid => UrbStatus.Invalid,
        UsbStatus.Stall => UrbStatus.Stall,
        UsbStatus.Timeout => UrbStatus.Timeout,
        UsbStatus.Babble => UrbStatus.Babble,
        UsbStatus.IoError when deviceGone => UrbStatus.NoDevice,
        _ => UrbStatus.ProtocolError,
    };
}
