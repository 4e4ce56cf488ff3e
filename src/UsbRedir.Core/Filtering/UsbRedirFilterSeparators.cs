namespace UsbRedir.Filtering;

/// <summary>
/// The two separator <em>sets</em> of a filter string: any character of <see cref="TokenSeparators"/> splits the
/// five fields of a rule, any character of <see cref="RuleSeparators"/> splits rules (strtok semantics: leading,
/// trailing and repeated separators are ignored). Formatting writes only the first character of each set.
/// </summary>
public sealed record UsbRedirFilterSeparators(string TokenSeparators, string RuleSeparators)
{
    /// <summary>The usbredir wire form (filter_filter packets, usbredirect): "0x03,-1,-1,-1,0|-1,-1,-1,-1,1".</summary>
    public static UsbRedirFilterSeparators Wire { get; } = new(",", "|");

    /// <summary>QEMU's <c>-device usb-redir,filter=</c> form: "0x03:-1:-1:-1:0|-1:-1:-1:-1:1".</summary>
    public static UsbRedirFilterSeparators Qemu { get; } = new(":", "|");
}
