using System.Management.Automation;

namespace UsbRedir.PowerShell;

/// <summary>Lets a TimeSpan parameter take seconds (see <see cref="DurationInput"/>).</summary>
internal sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        try
        {
            return DurationInput.ToTimeSpan(inputData);
        }
        catch (UsbRedirException e)
        {
            throw new ArgumentTransformationMetadataException($"{e.Message} {e.RecommendedAction}", e);
        }
    }
}
