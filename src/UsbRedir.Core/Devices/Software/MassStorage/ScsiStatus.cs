namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>The two SCSI statuses a bulk-only device can express (the CSW only says passed or failed).</summary>
public enum ScsiStatus
{
    Good,
    CheckCondition,
}
