using System.Text;
using UsbRedir.Filtering;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Filtering;

/// <summary>
/// Drives tests/interop/filter_harness.c (libusbredirparser's usbredirfilter) with many commands in one process,
/// and renders the same commands through the C# engine in the harness's output format, so the two can be compared line by line.
/// </summary>
internal static class FilterHarness
{
    /// <summary>Runs every command through the C library; returns one result line per command.</summary>
    public static IReadOnlyList<string> RunC(IReadOnlyList<string> commands)
    {
        var exe = NativeHarness.Build("filter_harness.c", "libusbredirparser-0.5");
        return NativeHarness.RunLines(exe, commands);
    }

    public static string Hex(string s)
    {
        var sb = new StringBuilder("x");
        foreach (var b in Encoding.UTF8.GetBytes(s))
            sb.Append(b.ToString("x2"));
        return sb.ToString();
    }

    /// <summary>The rule as the harness reads it: five decimal ints (allow as the raw int the test chose).</summary>
    public static string RuleInts(int @class, int vendor, int product, int version, int allow) =>
        $"{@class} {vendor} {product} {version} {allow}";

    public static string ParseCommand(string text, string tokenSeps, string ruleSeps) =>
        $"P {Hex(text)} {Hex(tokenSeps)} {Hex(ruleSeps)}";

    /// <summary>What the harness prints for a P command, computed by the C# engine.</summary>
    public static string ParseResult(string text, string tokenSeps, string ruleSeps)
    {
        var rc = UsbRedirFilter.StringToRules(text, tokenSeps, ruleSeps, out var rules);
        var fmt = "NULL";
        if (rc == 0 && UsbRedirFilter.TryFormat(rules, new UsbRedirFilterSeparators(tokenSeps, ruleSeps), out var s, out _))
            fmt = Hex(s!);
        var list = string.Join(";", rules.Select(r => $"{r.Class},{r.VendorId},{r.ProductId},{r.Version},{(r.Allow ? 1 : 0)}"));
        return $"rc={rc} n={rules.Count} rules={list} fmt={fmt}";
    }

    public static string FormatResult(IReadOnlyList<UsbRedirFilterRule> rules, string tokenSeps, string ruleSeps) =>
        "fmt=" + (UsbRedirFilter.TryFormat(rules, new UsbRedirFilterSeparators(tokenSeps, ruleSeps), out var s, out _) ? Hex(s!) : "NULL");
}
