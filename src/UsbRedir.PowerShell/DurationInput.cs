using System.Globalization;
using System.Management.Automation;

namespace UsbRedir.PowerShell;

/// <summary>
/// What a TimeSpan parameter of this module accepts. PowerShell's own conversion turns the number 5 into five ticks,
/// which nobody means when typing -ReconnectDelay 5; here numbers are seconds, as in Start-Sleep.
/// </summary>
internal static class DurationInput
{
    /// <summary>A TimeSpan as is; a number, or a string holding one, as seconds; any other string as a TimeSpan ("00:01:30").</summary>
    /// <exception cref="UsbRedirException">DurationInvalid.</exception>
    public static TimeSpan ToTimeSpan(object? input)
    {
        var value = input is PSObject wrapped ? wrapped.BaseObject : input;
        try
        {
            switch (value)
            {
                case TimeSpan span:
                    return span;
                case string text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds):
                    return FromSeconds(seconds, text);
                case string text when TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span):
                    return span;
                case IConvertible number and not string and not bool and not char:
                    return FromSeconds(number.ToDouble(CultureInfo.InvariantCulture), value);
            }
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
        {
        }
        throw new UsbRedirException("DurationInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"'{value}' is not a duration.", "Give seconds (5, 0.5) or a time span ('00:01:30', [timespan]::FromMinutes(2)).", value);
    }

    /// <summary>A wait or delay the user gave must not be negative; the error names the parameter.</summary>
    /// <exception cref="UsbRedirException">{Parameter}Invalid, e.g. TimeoutInvalid.</exception>
    public static void CheckNotNegative(TimeSpan value, string parameter)
    {
        if (value < TimeSpan.Zero)
            throw new UsbRedirException($"{parameter}Invalid", UsbRedirErrorCategory.InvalidArgument,
                $"-{parameter} cannot be negative (got {value}).", $"Give 0 or more seconds, e.g. -{parameter} 5.", value);
    }

    private static TimeSpan FromSeconds(double seconds, object? original) =>
        double.IsFinite(seconds) && Math.Abs(seconds) <= TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(seconds)
            : throw new OverflowException($"{original} seconds");
}
