namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>
/// The sense key and additional sense code/qualifier a logical unit keeps after a command, returned by the next
/// REQUEST SENSE in fixed format (SPC-4 4.5.3).
/// </summary>
public readonly record struct SenseData(byte SenseKey, byte AdditionalSenseCode, byte AdditionalSenseCodeQualifier)
{
    public const int FixedFormatLength = 18;

    public static SenseData NoSense => default;
    public static SenseData MediumNotPresent => new(ScsiSenseKeys.NotReady, 0x3A, 0x00);
    public static SenseData UnrecoveredReadError => new(ScsiSenseKeys.MediumError, 0x11, 0x00);
    public static SenseData WriteError => new(ScsiSenseKeys.MediumError, 0x0C, 0x00);
    public static SenseData InvalidCommandOperationCode => new(ScsiSenseKeys.IllegalRequest, 0x20, 0x00);
    public static SenseData LogicalBlockAddressOutOfRange => new(ScsiSenseKeys.IllegalRequest, 0x21, 0x00);
    public static SenseData InvalidFieldInCdb => new(ScsiSenseKeys.IllegalRequest, 0x24, 0x00);
    public static SenseData SavingParametersNotSupported => new(ScsiSenseKeys.IllegalRequest, 0x39, 0x00);
    public static SenseData MediumRemovalPrevented => new(ScsiSenseKeys.IllegalRequest, 0x53, 0x02);
    public static SenseData WriteProtected => new(ScsiSenseKeys.DataProtect, 0x27, 0x00);
    public static SenseData Miscompare => new(ScsiSenseKeys.Miscompare, 0x1D, 0x00);

    /// <summary>Writes the 18-byte fixed-format sense data (response code 0x70, current error).</summary>
    public void WriteFixedFormat(Span<byte> destination)
    {
        destination[..FixedFormatLength].Clear();
        destination[0] = 0x70;
        destination[2] = SenseKey;
        destination[7] = FixedFormatLength - 8; // additional sense length
        destination[12] = AdditionalSenseCode;
        destination[13] = AdditionalSenseCodeQualifier;
    }

    public override string ToString() => $"sense key 0x{SenseKey:x}, ASC/ASCQ 0x{AdditionalSenseCode:x2}/0x{AdditionalSenseCodeQualifier:x2}";
}
