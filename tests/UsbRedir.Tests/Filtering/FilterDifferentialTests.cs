using UsbRedir.Filtering;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Filtering;

/// <summary>
/// The C# filter engine against the real libusbredirparser 0.13 (usbredirfilter_string_to_rules, rules_to_string,
/// verify, check) on thousands of seeded cases each, all through one harness process per test.
/// </summary>
public sealed class FilterDifferentialTests
{
    private const int Seed = 20261121;

    [LibUsbRedirParserFact]
    public void ParsingAndReformattingMatchC()
    {
        var generator = new FilterCaseGenerator(Seed);
        var cases = new List<(string Text, string Token, string Rule)>();
        foreach (var (token, rule) in FilterCaseGenerator.SeparatorSets)
            for (var i = 0; i < 600; i++)
                cases.Add((generator.FilterString(token, rule), token, rule));
        AssertSameAsC(cases);
    }

    [LibUsbRedirParserFact]
    public void SingleTokensParseLikeStrtol()
    {
        // Every odd token and random number form in every field position of an otherwise valid rule.
        var generator = new FilterCaseGenerator(Seed + 1);
        var cases = new List<(string, string, string)>();
        for (var i = 0; i < 4000; i++)
        {
            var fields = new[] { "8", "-1", "-1", "-1", "1" };
            var position = generator.Next(5);
            fields[position] = generator.Token(position);
            cases.Add((string.Join(",", fields), ",", "|"));
        }
        AssertSameAsC(cases);
    }

    [LibUsbRedirParserFact]
    public void FormattingRuleListsMatchesC()
    {
        var generator = new FilterCaseGenerator(Seed + 2);
        var commands = new List<string>();
        var expected = new List<string>();
        for (var i = 0; i < 3000; i++)
        {
            var raw = Enumerable.Range(0, generator.Next(5)).Select(_ => generator.RawRule(mostlyValid: generator.Next(2) == 0)).ToList();
            var (token, rule) = FilterCaseGenerator.SeparatorSets[generator.Next(FilterCaseGenerator.SeparatorSets.Length)];
            commands.Add(Join("F", FilterHarness.Hex(token), FilterHarness.Hex(rule), RuleList(raw)));
            expected.Add(FilterHarness.FormatResult(ToRules(raw), token, rule));
            commands.Add(Join("V", RuleList(raw)));
            expected.Add($"rc={UsbRedirFilter.Verify(ToRules(raw))?.Code ?? 0}");
        }
        AssertLines(commands, expected);
    }

    [LibUsbRedirParserFact]
    public void CheckingDevicesMatchesC()
    {
        var generator = new FilterCaseGenerator(Seed + 3);
        var commands = new List<string>();
        var expected = new List<string>();
        var decisions = new Dictionary<UsbRedirFilterDecision, int>();
        for (var i = 0; i < 6000; i++)
        {
            var raw = Enumerable.Range(0, generator.Next(6))
                .Select(_ => generator.Next(30) == 0 ? generator.RawRule(mostlyValid: false) : generator.PoolRule()).ToList();
            var device = generator.Device();
            var flags = (UsbRedirFilterCheckFlags)generator.Next(4);
            commands.Add(Join("C", ((int)flags).ToString(), RuleList(raw),
                $"{device.Class} {device.SubClass} {device.Protocol} {device.Interfaces.Count}",
                Join(device.Interfaces.Select(f => $"{f.Class} {f.SubClass} {f.Protocol}").ToArray()),
                $"{device.VendorId} {device.ProductId} {device.Version}"));
            var result = UsbRedirFilter.Check(ToRules(raw), device, flags);
            decisions[result.Decision] = decisions.GetValueOrDefault(result.Decision) + 1;
            expected.Add($"rc={result.Code}");
        }
        AssertLines(commands, expected);
        // The generator must exercise every outcome, or the comparison proves little.
        foreach (var decision in Enum.GetValues<UsbRedirFilterDecision>())
            Assert.True(decisions.GetValueOrDefault(decision) > 100, $"only {decisions.GetValueOrDefault(decision)} {decision} cases");
    }

    /// <summary>Space-joins the non-empty parts (the harness splits on single spaces).</summary>
    private static string Join(params string[] parts) => string.Join(" ", parts.Where(p => p.Length > 0));

    private static string RuleList(List<(int Class, int Vendor, int Product, int Version, int Allow)> raw) =>
        Join([raw.Count.ToString(), .. raw.Select(r => FilterHarness.RuleInts(r.Class, r.Vendor, r.Product, r.Version, r.Allow))]);

    private static List<UsbRedirFilterRule> ToRules(IEnumerable<(int Class, int Vendor, int Product, int Version, int Allow)> raw) =>
        raw.Select(r => new UsbRedirFilterRule(r.Class, r.Vendor, r.Product, r.Version, r.Allow != 0)).ToList();

    private static void AssertSameAsC(List<(string Text, string Token, string Rule)> cases)
    {
        var commands = cases.Select(c => FilterHarness.ParseCommand(c.Text, c.Token, c.Rule)).ToList();
        var expected = cases.Select(c => FilterHarness.ParseResult(c.Text, c.Token, c.Rule)).ToList();
        AssertLines(commands, expected);
        // Both outcomes must be well represented.
        var ok = expected.Count(e => e.StartsWith("rc=0 ", StringComparison.Ordinal));
        Assert.True(ok > cases.Count / 10 && ok < cases.Count * 9 / 10, $"{ok} of {cases.Count} cases parse");
    }

    private static void AssertLines(List<string> commands, List<string> expected)
    {
        var actual = FilterHarness.RunC(commands);
        var mismatches = Enumerable.Range(0, commands.Count)
            .Where(i => actual[i] != expected[i])
            .Select(i => $"{commands[i]}\n  C:  {actual[i]}\n  C#: {expected[i]}")
            .Take(10)
            .ToList();
        Assert.True(mismatches.Count == 0, $"{mismatches.Count}+ mismatches of {commands.Count}:\n" + string.Join("\n", mismatches));
    }
}
