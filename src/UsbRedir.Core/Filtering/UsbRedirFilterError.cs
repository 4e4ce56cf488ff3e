namespace UsbRedir.Filtering;

/// <summary>
/// Why a filter string, rule list or XML document was rejected: which rule and field, and which rule of the
/// format was broken. <see cref="Code"/> is what libusbredirparser returns for the same input (-EINVAL).
/// </summary>
public sealed class UsbRedirFilterError
{
    /// <summary>-EINVAL, the only error code usbredirfilter's parse, format and verify functions report here.</summary>
    public const int EInval = -22;

    internal UsbRedirFilterError(string errorId, string message, string recommendedAction,
        int ruleIndex = -1, int tokenIndex = -1, string? token = null)
    {
        ErrorId = errorId;
        Message = message;
        RecommendedAction = recommendedAction;
        RuleIndex = ruleIndex;
        TokenIndex = tokenIndex;
        Token = token;
    }

    /// <summary>One of <see cref="UsbRedirFilterErrorIds"/>.</summary>
    public string ErrorId { get; }

    public string Message { get; }

    public string RecommendedAction { get; }

    /// <summary>0-based index of the offending rule (empty rules between separators are not counted), or -1.</summary>
    public int RuleIndex { get; }

    /// <summary>0-based field within the rule (0 class, 1 vendor, 2 product, 3 version, 4 allow), or -1.</summary>
    public int TokenIndex { get; }

    /// <summary>The offending text (a field, a rule or an attribute value), when there is one.</summary>
    public string? Token { get; }

    /// <summary>The C return value for this failure: always -EINVAL (-22).</summary>
    public int Code => EInval;

    /// <summary>The same failure as a throwable <see cref="UsbRedirException"/> (category InvalidArgument).</summary>
    public UsbRedirException ToException() =>
        new(ErrorId, UsbRedirErrorCategory.InvalidArgument, Message, RecommendedAction, Token);

    public override string ToString() => $"{ErrorId}: {Message}";
}
