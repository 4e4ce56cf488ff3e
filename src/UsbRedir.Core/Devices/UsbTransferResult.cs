namespace UsbRedir.Devices;

/// <summary>
/// Completion of a control, bulk or interrupt transfer: the status and how many bytes moved.
/// For IN transfers the data is in the caller's buffer, bytes [0, ActualLength).
/// </summary>
public readonly record struct UsbTransferResult(UsbStatus Status, int ActualLength)
{
    public static UsbTransferResult Ok(int actualLength) => new(UsbStatus.Success, actualLength);
    public static UsbTransferResult Failed(UsbStatus status) => new(status, 0);
}
