using System.Management.Automation;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>Lets a UsbRedirFilterRule[] parameter take rule objects or filter strings in the usbredir or QEMU form.</summary>
internal sealed class FilterRuleTransformationAttribute : EngineTransformationAttribute
{
    protected override object Convert(object? input) => FilterInput.ToRules(input);
}

/// <summary>
/// Lets a UsbRedirFilterInterface[] parameter take interface objects, "08/06/50" strings, or any object with Class,
/// SubClass and Protocol properties (such as the interfaces of a device object bound from the pipeline).
/// </summary>
internal sealed class FilterInterfaceTransformationAttribute : EngineTransformationAttribute
{
    protected override object Convert(object? input) =>
        FilterInput.ToInterfaces(input, (item, name) => PSObject.AsPSObject(item).Properties[name]?.Value);
}
