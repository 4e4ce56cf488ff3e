using UsbRedir.Filtering;

namespace UsbRedir.Tests.Filtering;

/// <summary>Parsing and formatting filter strings: upstream tests/filter.c's cases and the spec's verified examples.</summary>
public sealed class FilterStringTests
{
    // Upstream's "bad" table: limits per field, extra/missing fields, empty and bad values, wrong separators, one bad rule in many.
    [Theory]
    [InlineData("0x100,-1,-1,-1,0", UsbRedirFilterErrorIds.FilterValueOutOfRange, 0, 0)]
    [InlineData("-2,-1,-1,-1,0", UsbRedirFilterErrorIds.FilterValueOutOfRange, 0, 0)]
    [InlineData("0x03,,0x10000-1,-1,0", UsbRedirFilterErrorIds.FilterSyntax, 0, 1)]
    [InlineData("0x03,-2,-1,-1,0", UsbRedirFilterErrorIds.FilterValueOutOfRange, 0, 1)]
    [InlineData("0x03,-1,0x10000-1,,0", UsbRedirFilterErrorIds.FilterSyntax, 0, 2)]
    [InlineData("0x03,-1,-2,-1,0", UsbRedirFilterErrorIds.FilterValueOutOfRange, 0, 2)]
    [InlineData("0x03,-1,-1,0x10000,0", UsbRedirFilterErrorIds.FilterValueOutOfRange, 0, 3)]
    [InlineData("0x03,-1,-1,-2,0", UsbRedirFilterErrorIds.FilterValueOutOfRange, 0, 3)]
    [InlineData("0x03,-1,-1,-1,0,1", UsbRedirFilterErrorIds.FilterTokenCount, 0, -1)]
    [InlineData("0x03,-1,-1,-1", UsbRedirFilterErrorIds.FilterTokenCount, 0, -1)]
    [InlineData("0x03,-1,-1,,-1", UsbRedirFilterErrorIds.FilterTokenCount, 0, -1)]
    [InlineData("0x03,-1,-1,a,-1", UsbRedirFilterErrorIds.FilterSyntax, 0, 3)]
    [InlineData("0x03,-1,-1,#,-1", UsbRedirFilterErrorIds.FilterSyntax, 0, 3)]
    [InlineData("0x03,-1,-1, ,-1", UsbRedirFilterErrorIds.FilterSyntax, 0, 3)]
    [InlineData("0x03;-1;-1;-1;0", UsbRedirFilterErrorIds.FilterSyntax, 0, 0)]
    [InlineData("0x03,-1,-1,-1,0;-1,-1,-1,-1,1", UsbRedirFilterErrorIds.FilterSyntax, 0, 4)]
    [InlineData("0x03,-1,-1,-1,0|3|-1,-1,-1,-1,1", UsbRedirFilterErrorIds.FilterTokenCount, 1, -1)]
    // The spec's strtol corners: trailing characters, bare prefix, octal digits out of range.
    [InlineData("3 ,-1,-1,-1,1", UsbRedirFilterErrorIds.FilterSyntax, 0, 0)]
    [InlineData("0x,-1,-1,-1,1", UsbRedirFilterErrorIds.FilterSyntax, 0, 0)]
    [InlineData("08,-1,-1,-1,1", UsbRedirFilterErrorIds.FilterSyntax, 0, 0)]
    [InlineData("-1,-1,-1,-1,1|8,-1,-1,-1,1,1", UsbRedirFilterErrorIds.FilterTokenCount, 1, -1)]
    public void BadStringsFailWithTheRuleAndFieldNamed(string text, string errorId, int ruleIndex, int tokenIndex)
    {
        Assert.False(UsbRedirFilter.TryParse(text, null, out var rules, out var error));
        Assert.Empty(rules);
        Assert.Equal(errorId, error!.ErrorId);
        Assert.Equal(ruleIndex, error.RuleIndex);
        Assert.Equal(tokenIndex, error.TokenIndex);
        Assert.Equal(-22, error.Code);
        Assert.Equal(-22, UsbRedirFilter.StringToRules(text, ",", "|", out _));
        var thrown = Assert.Throws<UsbRedirException>(() => UsbRedirFilter.Parse(text));
        Assert.Equal(errorId, thrown.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.InvalidArgument, thrown.Category);
        Assert.Contains($"rule {ruleIndex}", thrown.Message);
        Assert.NotNull(thrown.RecommendedAction);
    }

    // Upstream's "good" table plus empty and separator-only strings (0 rules, success).
    [Theory]
    [InlineData("0x03,-1,-1,-1,0", 1, "0x03,-1,-1,-1,0")]
    [InlineData("0x03,-1,-1,-1,0|-1,-1,-1,-1,1", 2, "0x03,-1,-1,-1,0|-1,-1,-1,-1,1")]
    [InlineData("|0x03,-1,-1,-1,0|-1,-1,-1,-1,1|", 2, "0x03,-1,-1,-1,0|-1,-1,-1,-1,1")]
    [InlineData("0x03,-1,-1,-1,0|||-1,-1,-1,-1,1", 2, "0x03,-1,-1,-1,0|-1,-1,-1,-1,1")]
    [InlineData("||||0x03,-1,-1,-1,0|||-1,-1,-1,-1,1||||", 2, "0x03,-1,-1,-1,0|-1,-1,-1,-1,1")]
    [InlineData("", 0, "")]
    [InlineData("|||", 0, "")]
    [InlineData("3,,,-1,-1,-1,1", 1, "0x03,-1,-1,-1,1")]
    [InlineData(",3,-1,-1,-1,1,", 1, "0x03,-1,-1,-1,1")]
    // Spec examples: octal, allow normalised, whitespace and sign, LP64 narrowing, 0x%04x.
    [InlineData("010,-1,-1,-1,1", 1, "0x08,-1,-1,-1,1")]
    [InlineData("3,-1,-1,-1,-7", 1, "0x03,-1,-1,-1,1")]
    [InlineData(" 3,+0x1234,-1,-1,0", 1, "0x03,0x1234,-1,-1,0")]
    [InlineData("4294967295,-1,-1,-1,1", 1, "-1,-1,-1,-1,1")]
    [InlineData("0x1ffffffff,-1,-1,-1,1", 1, "-1,-1,-1,-1,1")]
    [InlineData("8,0XBEEF,0x1,0x256,4294967296", 1, "0x08,0xbeef,0x0001,0x0256,0")]
    [InlineData("8,-1,-1,-1,1\0garbage", 1, "0x08,-1,-1,-1,1")]
    public void GoodStringsRoundTripLikeC(string text, int count, string formatted)
    {
        var rules = UsbRedirFilter.Parse(text);
        Assert.Equal(count, rules.Count);
        Assert.Equal(formatted, UsbRedirFilter.Format(rules));
        Assert.Equal(0, UsbRedirFilter.StringToRules(text, ",", "|", out _));
    }

    [Fact]
    public void SeparatorSetsSplitOnAnyMemberAndFormatWithTheFirst()
    {
        var separators = new UsbRedirFilterSeparators(",;", " \t\n");
        var rules = UsbRedirFilter.Parse("\t3;-1,-1;;-1,1 \n 8,0x1234;-1;-1;0\n", separators);
        Assert.Equal([new(3, -1, -1, -1, true), new(8, 0x1234, -1, -1, false)], rules);
        Assert.Equal("0x03,-1,-1,-1,1 0x08,0x1234,-1,-1,0", UsbRedirFilter.Format(rules, separators));
    }

    [Fact]
    public void ANonAsciiSeparatorIsWrittenWholeAndReadsBack()
    {
        // C would write only the first UTF-8 byte of 'é'; a string cannot hold that, so the whole character is written.
        var separators = new UsbRedirFilterSeparators("é,", "|");
        var rules = UsbRedirFilter.Parse("8é-1,-1,-1,1", separators);
        var text = UsbRedirFilter.Format(rules, separators);
        Assert.Equal("0x08é-1é-1é-1é1", text);
        Assert.Equal(rules, UsbRedirFilter.Parse(text, separators));
    }

    [Fact]
    public void QemuFormUsesColons()
    {
        var rules = UsbRedirFilter.Parse("0x08:-1:-1:-1:1|-1:-1:-1:-1:0", UsbRedirFilterSeparators.Qemu);
        Assert.Equal([new(8, -1, -1, -1, true), new(-1, -1, -1, -1, false)], rules);
        Assert.Equal("0x08:-1:-1:-1:1|-1:-1:-1:-1:0", UsbRedirFilter.Format(rules, UsbRedirFilterSeparators.Qemu));
        // The wire form is not the QEMU form: its commas are garbage after the first number.
        Assert.Equal(UsbRedirFilterErrorIds.FilterSyntax,
            Assert.Throws<UsbRedirException>(() => UsbRedirFilter.Parse("0x08,-1,-1,-1,1", UsbRedirFilterSeparators.Qemu)).ErrorId);
    }

    [Theory]
    [InlineData("", "|")]
    [InlineData(",", "")]
    [InlineData("\0,", "|")]
    public void EmptySeparatorSetsAreRejected(string token, string rule)
    {
        var separators = new UsbRedirFilterSeparators(token, rule);
        Assert.False(UsbRedirFilter.TryParse("8,-1,-1,-1,1", separators, out _, out var error));
        Assert.Equal(UsbRedirFilterErrorIds.FilterSeparatorEmpty, error!.ErrorId);
        Assert.False(UsbRedirFilter.TryFormat([new(8, -1, -1, -1, true)], separators, out var text, out error));
        Assert.Null(text);
        Assert.Equal(UsbRedirFilterErrorIds.FilterSeparatorEmpty, error!.ErrorId);
        Assert.Equal(UsbRedirFilterErrorIds.FilterSeparatorEmpty,
            Assert.Throws<UsbRedirException>(() => UsbRedirFilter.Format([], separators)).ErrorId);
    }

    [Fact]
    public void FormattingRefusesRulesOutOfRangeNamingTheRule()
    {
        UsbRedirFilterRule[] rules = [new(8, -1, -1, -1, true), new(8, 0x10000, -1, -1, true)];
        var e = Assert.Throws<UsbRedirException>(() => UsbRedirFilter.Format(rules));
        Assert.Equal(UsbRedirFilterErrorIds.FilterValueOutOfRange, e.ErrorId);
        Assert.Contains("rule 1", e.Message);
        Assert.Contains("vendor 65536", e.Message);
        Assert.Equal(1, UsbRedirFilter.Verify(rules)!.RuleIndex);
        Assert.Equal(1, UsbRedirFilter.Verify(rules)!.TokenIndex);
        Assert.Null(UsbRedirFilter.Verify([new(255, 65535, 0, -1, false)]));
    }

    [Fact]
    public void RulesPrintInTheWireFormAndParseBack()
    {
        var rule = new UsbRedirFilterRule(8, 0x1234, 0xbeef, 0x0256, true);
        Assert.Equal("0x08,0x1234,0xbeef,0x0256,1", rule.ToString());
        Assert.Equal(rule, UsbRedirFilterRule.Parse(rule.ToString()));
        Assert.Equal("2.56", rule.VersionText);
        Assert.Equal("any", rule with { Version = -1 } is { } any ? any.VersionText : null);
        Assert.Equal("Allow", rule.Action);
        Assert.Equal("Block", (rule with { Allow = false }).Action);
        Assert.True(rule.IsValid);
        // Out-of-range values never throw from ToString; they print in decimal.
        Assert.Equal("256,-1,-1,-1,0", new UsbRedirFilterRule(256, -1, -1, -1, false).ToString());
        Assert.False(new UsbRedirFilterRule(256, -1, -1, -1, false).IsValid);
        Assert.Equal(UsbRedirFilterErrorIds.FilterRuleCount,
            Assert.Throws<UsbRedirException>(() => UsbRedirFilterRule.Parse("8,-1,-1,-1,1|9,-1,-1,-1,1")).ErrorId);
    }
}
