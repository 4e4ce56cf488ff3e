using System.Globalization;
using System.Text;

namespace UsbRedir.Filtering;

/// <summary>
/// The usbredir filter engine, behaving byte for byte like libusbredirparser's usbredirfilter
/// (string_to_rules, rules_to_string, verify, check). Throwing methods raise <see cref="UsbRedirException"/>
/// with an ErrorId from <see cref="UsbRedirFilterErrorIds"/>; Try methods return the error instead.
/// </summary>
public static class UsbRedirFilter
{
    /// <summary>
    /// Parses a filter string (default: the wire form "0x03,-1,-1,-1,0|-1,-1,-1,-1,1"). An empty string, or one
    /// made only of separators, is zero rules. One bad rule fails the whole string, as in C.
    /// </summary>
    /// <exception cref="UsbRedirException">FilterSyntax, FilterTokenCount, FilterValueOutOfRange or FilterSeparatorEmpty.</exception>
    public static IReadOnlyList<UsbRedirFilterRule> Parse(string text, UsbRedirFilterSeparators? separators = null)
    {
        if (!TryParse(text, separators, out var rules, out var error))
            throw error!.ToException();
        return rules;
    }

    /// <summary>Parses without throwing; on failure <paramref name="rules"/> is empty and <paramref name="error"/> says why.</summary>
    public static bool TryParse(string text, UsbRedirFilterSeparators? separators,
        out IReadOnlyList<UsbRedirFilterRule> rules, out UsbRedirFilterError? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = FilterStringParser.Parse(text, separators ?? UsbRedirFilterSeparators.Wire, out var list);
        rules = list.AsReadOnly();
        return error is null;
    }

    /// <summary>
    /// usbredirfilter_string_to_rules with C's return value: 0 on success, -EINVAL (-22) on any parse error.
    /// </summary>
    public static int StringToRules(string text, string tokenSeparators, string ruleSeparators,
        out IReadOnlyList<UsbRedirFilterRule> rules)
    {
        TryParse(text, new UsbRedirFilterSeparators(tokenSeparators, ruleSeparators), out rules, out var error);
        return error?.Code ?? 0;
    }

    /// <summary>
    /// Formats rules as usbredirfilter_rules_to_string does: the first character of each separator set,
    /// class as 0x%02x, ids and version as 0x%04x, -1 for any, allow as 1/0, no trailing rule separator.
    /// </summary>
    /// <exception cref="UsbRedirException">FilterValueOutOfRange or FilterSeparatorEmpty.</exception>
    public static string Format(IEnumerable<UsbRedirFilterRule> rules, UsbRedirFilterSeparators? separators = null)
    {
        if (!TryFormat(rules, separators, out var text, out var error))
            throw error!.ToException();
        return text!;
    }

    /// <summary>Formats without throwing; C returns NULL in exactly the cases this returns false.</summary>
    public static bool TryFormat(IEnumerable<UsbRedirFilterRule> rules, UsbRedirFilterSeparators? separators,
        out string? text, out UsbRedirFilterError? error)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var list = rules.ToList();
        separators ??= UsbRedirFilterSeparators.Wire;
        text = null;
        var tokenSeps = FilterStringParser.CString(separators.TokenSeparators);
        var ruleSeps = FilterStringParser.CString(separators.RuleSeparators);
        error = tokenSeps.Length == 0 || ruleSeps.Length == 0
            ? FilterStringParser.SeparatorEmpty(separators)
            : Verify(list);
        if (error is not null)
            return false;
        // C writes the first byte of each set; a .NET string cannot hold half a UTF-8 sequence, so a non-ASCII
        // first separator is written whole (C's parser splits on each of its bytes, so the text still reads back).
        var tokenSep = FirstCharacter(separators.TokenSeparators);
        var ruleSep = FirstCharacter(separators.RuleSeparators);
        var output = new StringBuilder(28 * list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            if (i > 0)
                output.Append(ruleSep);
            output.Append(FormatRuleUnchecked(list[i], '\u0001').Replace("\u0001", tokenSep, StringComparison.Ordinal));
        }
        text = output.ToString();
        return true;
    }

    /// <summary>usbredirfilter_verify: null when every rule is in range, else the first rule out of range.</summary>
    public static UsbRedirFilterError? Verify(IEnumerable<UsbRedirFilterRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var index = 0;
        foreach (var rule in rules)
        {
            ArgumentNullException.ThrowIfNull(rule, nameof(rules));
            if (FilterStringParser.OutOfRange(rule, index) is { } error)
                return error;
            index++;
        }
        return null;
    }

    /// <summary>
    /// usbredirfilter_check: decides whether the rules allow redirecting the device. The result's
    /// <see cref="UsbRedirFilterCheckResult.Code"/> equals C's return value; it also names the deciding rule and pass.
    /// </summary>
    public static UsbRedirFilterCheckResult Check(IReadOnlyList<UsbRedirFilterRule> rules, UsbRedirFilterDevice device,
        UsbRedirFilterCheckFlags flags = UsbRedirFilterCheckFlags.None)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(device);
        return FilterChecker.Check(rules, device, flags);
    }

    private static string FirstCharacter(string set) =>
        Rune.DecodeFromUtf16(set, out var rune, out _) == System.Buffers.OperationStatus.Done ? rune.ToString() : set[..1];

    /// <summary>One rule in C's format with the given token separator; out-of-range fields are written in decimal.</summary>
    internal static string FormatRuleUnchecked(UsbRedirFilterRule rule, char tokenSeparator)
    {
        var sb = new StringBuilder(28);
        Field(sb, rule.Class, 2, rule.Class is >= 0 and <= 0xff).Append(tokenSeparator);
        Field(sb, rule.VendorId, 4, rule.VendorId is >= 0 and <= 0xffff).Append(tokenSeparator);
        Field(sb, rule.ProductId, 4, rule.ProductId is >= 0 and <= 0xffff).Append(tokenSeparator);
        Field(sb, rule.Version, 4, rule.Version is >= 0 and <= 0xffff).Append(tokenSeparator);
        return sb.Append(rule.Allow ? '1' : '0').ToString();
    }

    private static StringBuilder Field(StringBuilder sb, int value, int width, bool inRange) =>
        value == -1 ? sb.Append("-1")
        : inRange ? sb.Append("0x").Append(value.ToString(width == 2 ? "x2" : "x4", CultureInfo.InvariantCulture))
        : sb.Append(value.ToString(CultureInfo.InvariantCulture));
}
