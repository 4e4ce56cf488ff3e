namespace UsbRedir;

/// <summary>
/// An error the user can act on: a stable <see cref="ErrorId"/> for scripts and tests, a category,
/// a message naming the cause, and where possible <see cref="RecommendedAction"/> naming the fix.
/// </summary>
public class UsbRedirException : Exception
{
    public UsbRedirException(string errorId, UsbRedirErrorCategory category, string message,
        string? recommendedAction = null, object? target = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorId = errorId;
        Category = category;
        RecommendedAction = recommendedAction;
        Target = target;
    }

    /// <summary>PascalCase token, unique per failure, e.g. "FilterRuleInvalid".</summary>
    public string ErrorId { get; }

    public UsbRedirErrorCategory Category { get; }

    public string? RecommendedAction { get; }

    public object? Target { get; }
}
