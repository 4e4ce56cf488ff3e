using System.Text;

namespace UsbRedir.Filtering;

/// <summary>
/// usbredirfilter_string_to_rules: strtok_r over the rule separator set, then over the token separator set,
/// strtol base 0 for each of exactly five fields, and usbredirfilter_verify for each rule. Works on the UTF-8
/// bytes, like the C code, and stops at the first NUL as a C string would.
/// </summary>
internal static class FilterStringParser
{
    internal static readonly string[] FieldNames = ["class", "vendor", "product", "version", "allow"];

    public static UsbRedirFilterError? Parse(string text, UsbRedirFilterSeparators separators, out List<UsbRedirFilterRule> rules)
    {
        rules = [];
        var tokenSeps = CString(separators.TokenSeparators);
        var ruleSeps = CString(separators.RuleSeparators);
        if (tokenSeps.Length == 0 || ruleSeps.Length == 0)
            return SeparatorEmpty(separators);
        var bytes = CString(text);
        var ruleIndex = 0;
        foreach (var (start, length) in Split(bytes, 0, bytes.Length, ruleSeps))
        {
            var error = ParseRule(bytes.AsSpan(start, length), tokenSeps, ruleIndex, out var rule);
            if (error is not null)
            {
                rules.Clear();
                return error;
            }
            rules.Add(rule!);
            ruleIndex++;
        }
        return null;
    }

    private static UsbRedirFilterError? ParseRule(ReadOnlySpan<byte> ruleBytes, byte[] tokenSeps, int ruleIndex, out UsbRedirFilterRule? rule)
    {
        rule = null;
        var ruleText = Decode(ruleBytes);
        var tokens = Split(ruleBytes.ToArray(), 0, ruleBytes.Length, tokenSeps);
        var values = new int[5];
        // C parses the first five tokens in order and stops at the first bad one, before it counts.
        for (var i = 0; i < tokens.Count && i < 5; i++)
        {
            var token = ruleBytes.Slice(tokens[i].Start, tokens[i].Length);
            values[i] = CStrtol.ParseBase0(token, out var end);
            if (end != token.Length)
                return Syntax(ruleIndex, i, ruleText, Decode(token));
        }
        if (tokens.Count != 5)
            return new UsbRedirFilterError(UsbRedirFilterErrorIds.FilterTokenCount,
                $"Filter rule {ruleIndex} ('{ruleText}') has {tokens.Count} field{(tokens.Count == 1 ? "" : "s")}; "
                + "each rule needs exactly 5: class, vendor, product, version, allow.",
                "Write each rule as class,vendor,product,version,allow (e.g. 0x08,-1,-1,-1,1), "
                + "and check that the separators match the format (',' and '|' on the wire, ':' and '|' for QEMU).",
                ruleIndex, -1, ruleText);
        rule = new UsbRedirFilterRule(values[0], values[1], values[2], values[3], values[4] != 0);
        return OutOfRange(rule, ruleIndex, ruleText);
    }

    /// <summary>The verify error for one rule, or null when it is in range.</summary>
    internal static UsbRedirFilterError? OutOfRange(UsbRedirFilterRule rule, int ruleIndex, string? ruleText = null)
    {
        var field = rule.FirstInvalidField();
        if (field < 0)
            return null;
        var value = field switch { 0 => rule.Class, 1 => rule.VendorId, 2 => rule.ProductId, _ => rule.Version };
        var max = field == 0 ? "255 (0xff)" : "65535 (0xffff)";
        var shown = ruleText ?? rule.ToString();
        return new UsbRedirFilterError(UsbRedirFilterErrorIds.FilterValueOutOfRange,
            $"Filter rule {ruleIndex} ('{shown}'): {FieldNames[field]} {value} is out of range; "
            + $"it must be -1 (any) or 0 to {max}.",
            $"Use -1 for any {FieldNames[field]}, or a value from 0 to {max}.",
            ruleIndex, field, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    internal static UsbRedirFilterError SeparatorEmpty(UsbRedirFilterSeparators separators) =>
        new(UsbRedirFilterErrorIds.FilterSeparatorEmpty,
            (CString(separators.TokenSeparators).Length == 0 ? "The token (field) separator set is empty." : "The rule separator set is empty."),
            "Give at least one separator character for fields (e.g. ',' or ':') and for rules (e.g. '|').",
            -1, -1, null);

    private static UsbRedirFilterError Syntax(int ruleIndex, int tokenIndex, string ruleText, string token) =>
        new(UsbRedirFilterErrorIds.FilterSyntax,
            $"Filter rule {ruleIndex} ('{ruleText}'): {FieldNames[tokenIndex]} '{token}' is not a number.",
            "Write numbers as C does: decimal (8), hex with 0x (0x08) or octal with a leading 0 (010 = 8), "
            + "optionally signed; -1 means any. Nothing may follow the number.",
            ruleIndex, tokenIndex, token);

    /// <summary>strtok semantics: the non-empty runs of bytes not in <paramref name="separators"/>.</summary>
    private static List<(int Start, int Length)> Split(byte[] bytes, int start, int end, byte[] separators)
    {
        var runs = new List<(int, int)>();
        var i = start;
        while (i < end)
        {
            while (i < end && Array.IndexOf(separators, bytes[i]) >= 0)
                i++;
            var runStart = i;
            while (i < end && Array.IndexOf(separators, bytes[i]) < 0)
                i++;
            if (i > runStart)
                runs.Add((runStart, i - runStart));
        }
        return runs;
    }

    /// <summary>The bytes C would see: UTF-8, ending at the first NUL.</summary>
    internal static byte[] CString(string s)
    {
        var nul = s.IndexOf('\0');
        return Encoding.UTF8.GetBytes(nul < 0 ? s : s[..nul]);
    }

    private static string Decode(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
