namespace UsbRedir.Controllers.Usbip;

/// <summary>Which root hub of a vhci_hcd controller a port belongs to ("hs" / "ss" in the status files).</summary>
public enum VhciHcdHub
{
    /// <summary>The USB 2.0 hub: low, full and high speed devices.</summary>
    HighSpeed,
    /// <summary>The USB 3 hub: SuperSpeed devices only.</summary>
    SuperSpeed,
}
