namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>Operation codes of the SCSI commands the virtual disk implements (SPC-4, SBC-3, and MMC's READ FORMAT CAPACITIES).</summary>
public static class ScsiOpcodes
{
    public const byte TestUnitReady = 0x00;
    public const byte RequestSense = 0x03;
    public const byte Read6 = 0x08;
    public const byte Write6 = 0x0A;
    public const byte Inquiry = 0x12;
    public const byte ModeSense6 = 0x1A;
    public const byte StartStopUnit = 0x1B;
    public const byte PreventAllowMediumRemoval = 0x1E;
    public const byte ReadFormatCapacities = 0x23;
    public const byte ReadCapacity10 = 0x25;
    public const byte Read10 = 0x28;
    public const byte Write10 = 0x2A;
    public const byte Verify10 = 0x2F;
    public const byte SynchronizeCache10 = 0x35;
    public const byte ModeSense10 = 0x5A;
    public const byte Read16 = 0x88;
    public const byte Write16 = 0x8A;
    public const byte Verify16 = 0x8F;
    public const byte SynchronizeCache16 = 0x91;
    public const byte ServiceActionIn16 = 0x9E;
    public const byte ReportLuns = 0xA0;
    public const byte Read12 = 0xA8;
    public const byte Write12 = 0xAA;

    /// <summary>SERVICE ACTION IN(16) service action for READ CAPACITY(16).</summary>
    public const byte ServiceActionReadCapacity16 = 0x10;

    /// <summary>CDB length implied by the opcode's group code (SPC-4 4.3.5.1); 0 for vendor/reserved groups.</summary>
    public static int CdbLength(byte opcode) => (opcode >> 5) switch
    {
        0 => 6,
        1 or 2 => 10,
        4 => 16,
        5 => 12,
        _ => 0,
    };
}
