namespace UsbRedir.Controllers.Usbip;

/// <summary>The <c>sta</c> column of vhci_hcd's status files (enum usbip_device_status in usbip_common.h).</summary>
public enum VhciHcdPortState
{
    /// <summary>VDEV_ST_NULL: free.</summary>
    Free = 4,
    /// <summary>VDEV_ST_NOTASSIGNED: attached, the device is not addressed yet.</summary>
    NotAssigned = 5,
    /// <summary>VDEV_ST_USED: attached and in use.</summary>
    Used = 6,
    /// <summary>VDEV_ST_ERROR: the connection failed and is being torn down.</summary>
    Error = 7,
}
