using System.Management.Automation;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>Lets a UsbRedirFilterRule[] parameter take rule objects or filter strings in the usbredir or QEMU form.</summary>
internal sealed class FilterRuleTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        try
        {
            return FilterInput.ToRules(inputData);
        }
        catch (UsbRedirException e)
        {
            // PowerShell reports this as ParameterArgumentTransformationError naming the parameter.
            throw new ArgumentTransformationMetadataException($"{e.Message} {e.RecommendedAction}", e);
        }
    }
}

/// <summary>
/// Lets a UsbRedirFilterInterface[] parameter take interface objects, "08/06/50" strings, or any object with Class,
/// SubClass and Protocol properties (such as the interfaces of a device object bound from the pipeline).
/// </summary>
internal sealed class FilterInterfaceTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        try
        {
            return FilterInput.ToInterfaces(inputData, (item, name) => PSObject.AsPSObject(item).Properties[name]?.Value);
        }
        catch (UsbRedirException e)
        {
            throw new ArgumentTransformationMetadataException($"{e.Message} {e.RecommendedAction}", e);
        }
    }
}
