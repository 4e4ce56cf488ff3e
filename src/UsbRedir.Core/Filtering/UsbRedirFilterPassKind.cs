namespace UsbRedir.Filtering;

/// <summary>Which class a pass of usbredirfilter_check matched the rules against.</summary>
public enum UsbRedirFilterPassKind
{
    /// <summary>The device class (bDeviceClass).</summary>
    Device,

    /// <summary>One interface's class, with the device's ids and version.</summary>
    Interface,
}
