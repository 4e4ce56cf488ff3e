using UsbRedir.Filtering;
using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>What -Filter, -Rule and -Interface of the filter cmdlets accept, through the module's own conversion code.</summary>
public class FilterInputTests
{
    private const string FilterInput = "UsbRedir.PowerShell.Filtering.FilterInput";

    private static UsbRedirFilterRule[] ToRules(object? input) => (UsbRedirFilterRule[])ModuleInternals.Call(FilterInput, "ToRules", input)!;

    private static UsbRedirFilterInterface[] ToInterfaces(object? input) =>
        (UsbRedirFilterInterface[])ModuleInternals.Call(FilterInput, "ToInterfaces", input,
            (Func<object, string, object?>)((item, name) => item.GetType().GetProperty(name)?.GetValue(item)))!;

    [Fact]
    public void Filter_strings_in_either_notation_and_rule_objects_keep_their_order()
    {
        var rule = new UsbRedirFilterRule(0x03, -1, -1, -1, false);
        var rules = ToRules(new object[] { "0x08,0x0781,-1,-1,1|-1,-1,-1,-1,0", rule, "0x0e:-1:-1:0x0200:1" });
        Assert.Equal(
        [
            new UsbRedirFilterRule(0x08, 0x0781, -1, -1, true), new UsbRedirFilterRule(-1, -1, -1, -1, false), rule,
            new UsbRedirFilterRule(0x0e, -1, -1, 0x0200, true),
        ], rules);
        Assert.Empty(ToRules(""));
    }

    [Theory]
    [InlineData("0x08,-1,-1,-1", UsbRedirFilterErrorIds.FilterTokenCount)]
    [InlineData("0x08,zz,-1,-1,1", UsbRedirFilterErrorIds.FilterSyntax)]
    [InlineData("0x100,-1,-1,-1,1", UsbRedirFilterErrorIds.FilterValueOutOfRange)]
    public void Bad_filter_strings_fail_with_the_engine_error(string text, string errorId)
    {
        var e = Assert.Throws<UsbRedirException>(() => ToRules(text));
        Assert.Equal(errorId, e.ErrorId);
        Assert.False(string.IsNullOrEmpty(e.RecommendedAction));
    }

    [Fact]
    public void Other_objects_are_not_rules()
    {
        var e = Assert.Throws<UsbRedirException>(() => ToRules(new object[] { 42 }));
        Assert.Contains("System.Int32", e.Message);
        Assert.Equal(UsbRedirErrorCategory.InvalidArgument, e.Category);
    }

    [Fact]
    public void Interfaces_come_from_objects_strings_or_anything_with_class_subclass_protocol()
    {
        var own = new UsbRedirFilterInterface(3, 1, 2);
        var interfaces = ToInterfaces(new object[] { "08/06/50", own, new { Class = 0xe0, SubClass = 1, Protocol = (byte)1 } });
        Assert.Equal([new UsbRedirFilterInterface(8, 6, 0x50), own, new UsbRedirFilterInterface(0xe0, 1, 1)], interfaces);
    }

    [Fact]
    public void Objects_without_interface_properties_are_refused_by_name()
    {
        var missing = Assert.Throws<UsbRedirException>(() => ToInterfaces(new object[] { new { Class = 8 } }));
        Assert.Equal(UsbRedirFilterErrorIds.FilterDeviceInvalid, missing.ErrorId);
        Assert.Contains("no SubClass property", missing.Message);
        var range = Assert.Throws<UsbRedirException>(() => ToInterfaces(new object[] { new { Class = 300, SubClass = 0, Protocol = 0 } }));
        Assert.Contains("Class '300'", range.Message);
    }
}
