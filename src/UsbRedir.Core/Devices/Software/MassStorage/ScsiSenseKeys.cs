namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>SCSI sense keys (SPC-4 table 48).</summary>
public static class ScsiSenseKeys
{
    public const byte NoSense = 0x0;
    public const byte NotReady = 0x2;
    public const byte MediumError = 0x3;
    public const byte IllegalRequest = 0x5;
    public const byte UnitAttention = 0x6;
    public const byte DataProtect = 0x7;
    public const byte Miscompare = 0xE;
}
