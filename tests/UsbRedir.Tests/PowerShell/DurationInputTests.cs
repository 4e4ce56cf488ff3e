using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>What the TimeSpan parameters (-ReconnectDelay, -KeysDelay, -Timeout...) accept, through the module's own conversion.</summary>
public class DurationInputTests
{
    private static TimeSpan ToTimeSpan(object? input) => (TimeSpan)ModuleInternals.Call("UsbRedir.PowerShell.DurationInput", "ToTimeSpan", input)!;

    public static TheoryData<object, double> Durations => new()
    {
        { 5, 5 }, { 0.5, 0.5 }, { 2L, 2 }, { (byte)3, 3 }, { 1.5m, 1.5 }, { "2.5", 2.5 }, { "0", 0 },
        { "00:01:30", 90 }, { TimeSpan.FromMinutes(2), 120 },
    };

    [Theory]
    [MemberData(nameof(Durations))]
    public void Numbers_are_seconds_and_time_spans_stay_themselves(object input, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), ToTimeSpan(input));
    }

    public static TheoryData<object?> NotDurations => new() { "soon", "", true, 'x', double.NaN, double.PositiveInfinity, 1e300, null, new object() };

    [Theory]
    [MemberData(nameof(NotDurations))]
    public void Anything_else_is_DurationInvalid_with_the_fix(object? input)
    {
        var e = Assert.Throws<UsbRedirException>(() => ToTimeSpan(input));
        Assert.Equal("DurationInvalid", e.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.InvalidArgument, e.Category);
        Assert.Contains("seconds", e.RecommendedAction);
    }
}
