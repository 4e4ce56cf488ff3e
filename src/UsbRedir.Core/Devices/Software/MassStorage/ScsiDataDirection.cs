namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>Direction of a SCSI command's data phase, as the device intends it.</summary>
public enum ScsiDataDirection
{
    None,
    ToHost,
    FromHost,
}
