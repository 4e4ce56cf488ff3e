using System.Management.Automation;

namespace UsbRedir.PowerShell;

/// <summary>
/// Turns an engine's <see cref="UsbRedirException"/> into the <see cref="ErrorRecord"/> users see:
/// FullyQualifiedErrorId "ErrorId,UsbRedir.PowerShell.XxxCommand", the matching category, the target,
/// and the fix in ErrorDetails.RecommendedAction.
/// </summary>
internal static class UsbRedirErrorRecord
{
    public static ErrorRecord From(UsbRedirException error)
    {
        var record = new ErrorRecord(error, error.ErrorId, ToErrorCategory(error.Category), error.Target);
        if (error.RecommendedAction is not null)
            record.ErrorDetails = new ErrorDetails(error.Message) { RecommendedAction = error.RecommendedAction };
        return record;
    }

    /// <summary>Each engine category has the PowerShell category of the same name.</summary>
    public static ErrorCategory ToErrorCategory(UsbRedirErrorCategory category) => category switch
    {
        UsbRedirErrorCategory.InvalidArgument => ErrorCategory.InvalidArgument,
        UsbRedirErrorCategory.InvalidData => ErrorCategory.InvalidData,
        UsbRedirErrorCategory.ObjectNotFound => ErrorCategory.ObjectNotFound,
        UsbRedirErrorCategory.PermissionDenied => ErrorCategory.PermissionDenied,
        UsbRedirErrorCategory.NotInstalled => ErrorCategory.NotInstalled,
        UsbRedirErrorCategory.ResourceBusy => ErrorCategory.ResourceBusy,
        UsbRedirErrorCategory.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        UsbRedirErrorCategory.ConnectionError => ErrorCategory.ConnectionError,
        UsbRedirErrorCategory.ProtocolError => ErrorCategory.ProtocolError,
        UsbRedirErrorCategory.DeviceError => ErrorCategory.DeviceError,
        UsbRedirErrorCategory.OperationTimeout => ErrorCategory.OperationTimeout,
        UsbRedirErrorCategory.InvalidOperation => ErrorCategory.InvalidOperation,
        _ => ErrorCategory.NotSpecified,
    };
}
