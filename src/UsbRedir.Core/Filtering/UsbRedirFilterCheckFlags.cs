namespace UsbRedir.Filtering;

/// <summary>The flags of usbredirfilter_check (same bit values as the C enum).</summary>
[Flags]
public enum UsbRedirFilterCheckFlags
{
    None = 0,

    /// <summary>A pass in which no rule matches counts as allowed instead of ending the check with NoMatch.</summary>
    DefaultAllow = 0x01,

    /// <summary>Check non-boot HID interfaces (class 3/0/0) of multi-interface devices instead of skipping them.</summary>
    DontSkipNonBootHid = 0x02,
}
