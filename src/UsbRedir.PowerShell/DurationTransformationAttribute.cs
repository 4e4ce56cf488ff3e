namespace UsbRedir.PowerShell;

/// <summary>Lets a TimeSpan parameter take seconds (see <see cref="DurationInput"/>).</summary>
internal sealed class DurationTransformationAttribute : EngineTransformationAttribute
{
    protected override object Convert(object? input) => DurationInput.ToTimeSpan(input);
}
