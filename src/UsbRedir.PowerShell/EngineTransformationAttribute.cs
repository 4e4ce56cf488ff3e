using System.Management.Automation;

namespace UsbRedir.PowerShell;

/// <summary>
/// Base of the module's argument transformations: the conversion lives in a testable helper that throws the engine's
/// error, which PowerShell then reports as ParameterArgumentTransformationError naming the parameter, cause and fix.
/// </summary>
internal abstract class EngineTransformationAttribute : ArgumentTransformationAttribute
{
    /// <exception cref="UsbRedirException">The input cannot become the parameter's type.</exception>
    protected abstract object Convert(object? input);

    public sealed override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        try
        {
            return Convert(inputData);
        }
        catch (UsbRedirException e)
        {
            throw new ArgumentTransformationMetadataException($"{e.Message} {e.RecommendedAction}", e);
        }
    }
}
