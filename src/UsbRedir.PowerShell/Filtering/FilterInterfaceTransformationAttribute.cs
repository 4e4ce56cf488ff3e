using System.Management.Automation;
using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>
/// Lets a UsbRedirFilterInterface[] parameter take interface objects, "class/subclass/protocol" strings
/// ("08/06/50", hex as lsusb prints them) or any object with Class, SubClass and Protocol properties,
/// such as the interfaces of a device object from the pipeline.
/// </summary>
internal sealed class FilterInterfaceTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var interfaces = new List<UsbRedirFilterInterface>();
        foreach (var item in FilterRuleTransformationAttribute.Flatten(inputData))
            interfaces.Add(Convert(item));
        return interfaces.ToArray();
    }

    private static UsbRedirFilterInterface Convert(object? item)
    {
        switch (item)
        {
            case UsbRedirFilterInterface done:
                return done;
            case string text:
                try
                {
                    return UsbRedirFilterInterface.Parse(text);
                }
                catch (UsbRedirException e)
                {
                    throw new ArgumentTransformationMetadataException($"{e.Message} {e.RecommendedAction}", e);
                }
            case null:
                throw new ArgumentTransformationMetadataException("An interface cannot be null.");
            default:
                var properties = PSObject.AsPSObject(item).Properties;
                var values = new[] { "Class", "SubClass", "Protocol" }.Select(name => properties[name]?.Value).ToArray();
                if (values.Any(v => v is null))
                    throw new ArgumentTransformationMetadataException(
                        $"A {item.GetType().FullName} is not an interface: it needs Class, SubClass and Protocol properties, "
                        + "or give the interface as text such as '08/06/50'.");
                try
                {
                    return new UsbRedirFilterInterface(
                        LanguagePrimitives.ConvertTo<byte>(values[0]),
                        LanguagePrimitives.ConvertTo<byte>(values[1]),
                        LanguagePrimitives.ConvertTo<byte>(values[2]));
                }
                catch (PSInvalidCastException e)
                {
                    throw new ArgumentTransformationMetadataException(
                        $"The interface's Class, SubClass and Protocol must be numbers from 0 to 255: {e.Message}", e);
                }
        }
    }
}
