using System.Collections;
using System.Management.Automation;
using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>
/// Lets a UsbRedirFilterRule[] parameter take rule objects or filter strings in either notation:
/// the usbredir form "0x08,-1,-1,-1,1|-1,-1,-1,-1,0" or QEMU's "0x08:-1:-1:-1:1|-1:-1:-1:-1:0"
/// (',' and ':' both split fields; neither form uses the other's separator, so one parse reads both).
/// </summary>
internal sealed class FilterRuleTransformationAttribute : ArgumentTransformationAttribute
{
    private static readonly UsbRedirFilterSeparators EitherForm = new(",:", "|");

    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var rules = new List<UsbRedirFilterRule>();
        foreach (var item in Flatten(inputData))
        {
            switch (item)
            {
                case UsbRedirFilterRule rule:
                    rules.Add(rule);
                    break;
                case string text:
                    if (!UsbRedirFilter.TryParse(text, EitherForm, out var parsed, out var error))
                        throw new ArgumentTransformationMetadataException($"{error!.Message} {error.RecommendedAction}", error.ToException());
                    rules.AddRange(parsed);
                    break;
                default:
                    throw new ArgumentTransformationMetadataException(
                        $"A {item?.GetType().FullName ?? "null"} is not a filter rule. Give rule objects (New-UsbRedirFilterRule, "
                        + "ConvertFrom-UsbRedirFilter) or a filter string such as '0x08,-1,-1,-1,1|-1,-1,-1,-1,0'.");
            }
        }
        return rules.ToArray();
    }

    /// <summary>Arrays and pipeline collections give their items; PSObject wrappers their base objects.</summary>
    internal static IEnumerable<object?> Flatten(object? input)
    {
        var value = input is PSObject wrapped ? wrapped.BaseObject : input;
        if (value is IEnumerable many and not string)
        {
            foreach (var item in many)
                foreach (var inner in Flatten(item))
                    yield return inner;
        }
        else
        {
            yield return value;
        }
    }
}
