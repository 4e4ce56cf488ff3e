namespace UsbRedir;

/// <summary>
/// Why an operation failed, in words both front ends understand: the cmdlets map it to
/// PowerShell's ErrorCategory, the CLI to an exit code and a message prefix.
/// </summary>
public enum UsbRedirErrorCategory
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    PermissionDenied,
    NotInstalled,
    ResourceBusy,
    ResourceUnavailable,
    ConnectionError,
    ProtocolError,
    DeviceError,
    OperationTimeout,
    InvalidOperation,
}
