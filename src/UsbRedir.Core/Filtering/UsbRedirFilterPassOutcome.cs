namespace UsbRedir.Filtering;

/// <summary>How one pass of the check ended.</summary>
public enum UsbRedirFilterPassOutcome
{
    /// <summary>The first matching rule allows.</summary>
    Allowed,

    /// <summary>The first matching rule blocks; the check ends with Denied.</summary>
    Denied,

    /// <summary>No rule matched; the check ends with NoMatch.</summary>
    NoMatch,

    /// <summary>No rule matched, counted as allowed because of DefaultAllow.</summary>
    DefaultAllowed,

    /// <summary>
    /// The pass did not run: the device pass for class 0x00/0xEF, or a non-boot HID interface of a
    /// multi-interface device.
    /// </summary>
    Skipped,
}
