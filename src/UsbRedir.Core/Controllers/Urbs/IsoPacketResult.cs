namespace UsbRedir.Controllers.Urbs;

/// <summary>How one packet of an isochronous URB ended.</summary>
public readonly record struct IsoPacketResult(UrbStatus Status, int ActualLength)
{
    /// <summary>A packet that never went over the bus (-EXDEV, nothing transferred).</summary>
    public static readonly IsoPacketResult NotTransferred = new(UrbStatus.NotTransferred, 0);
}
