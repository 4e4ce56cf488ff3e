using System.Collections;
using System.Globalization;
using System.Management.Automation;
using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>
/// Turns what users pass to -Filter/-Rule/-Interface into engine objects. Kept apart from the transformation
/// attributes so it runs (and is tested) without a PowerShell engine.
/// </summary>
internal static class FilterInput
{
    /// <summary>Either notation: ',' (usbredir) and ':' (QEMU) both split fields, and neither form uses the other's.</summary>
    public static readonly UsbRedirFilterSeparators EitherForm = new(",:", "|");

    /// <summary>Rule objects and filter strings ("0x08,-1,-1,-1,1|…" or "0x08:-1:-1:-1:1|…"), in order.</summary>
    /// <exception cref="UsbRedirException">A string is not a valid filter, or an item is neither a rule nor a string.</exception>
    public static UsbRedirFilterRule[] ToRules(object? input)
    {
        var rules = new List<UsbRedirFilterRule>();
        foreach (var item in Flatten(input))
        {
            if (item is UsbRedirFilterRule rule)
                rules.Add(rule);
            else if (item is string text)
                rules.AddRange(UsbRedirFilter.Parse(text, EitherForm));
            else
                throw new UsbRedirException(UsbRedirFilterErrorIds.FilterSyntax, UsbRedirErrorCategory.InvalidArgument,
                    $"A {item?.GetType().FullName ?? "null"} is not a filter rule.",
                    "Give rule objects (New-UsbRedirFilterRule, ConvertFrom-UsbRedirFilter) or a filter string such as "
                    + "'0x08,-1,-1,-1,1|-1,-1,-1,-1,0'.", item);
        }
        return rules.ToArray();
    }

    /// <summary>
    /// Interface objects, "class/subclass/protocol" strings ("08/06/50") or objects with Class, SubClass and Protocol
    /// properties; <paramref name="property"/> reads a property by name (PowerShell's adapter in the cmdlet).
    /// </summary>
    /// <exception cref="UsbRedirException">FilterDeviceInvalid.</exception>
    public static UsbRedirFilterInterface[] ToInterfaces(object? input, Func<object, string, object?> property) =>
        Flatten(input).Select(item => item switch
        {
            UsbRedirFilterInterface done => done,
            string text => UsbRedirFilterInterface.Parse(text),
            null => throw InterfaceInvalid("null", "an interface cannot be null"),
            _ => new UsbRedirFilterInterface(
                ClassByte(item, "Class", property), ClassByte(item, "SubClass", property), ClassByte(item, "Protocol", property)),
        }).ToArray();

    /// <summary>
    /// Arrays and collections give their items, PSObject wrappers their base objects; a string is one item. A
    /// [pscustomobject] stays wrapped: its properties live on the wrapper, its base object is an empty placeholder.
    /// </summary>
    public static IEnumerable<object?> Flatten(object? input)
    {
        var value = input is PSObject wrapped && wrapped.BaseObject is not PSCustomObject ? wrapped.BaseObject : input;
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

    private static byte ClassByte(object item, string name, Func<object, string, object?> property)
    {
        var value = property(item, name);
        try
        {
            if (value is not null)
                return Convert.ToByte(value, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException)
        {
        }
        throw InterfaceInvalid(item.ToString() ?? item.GetType().FullName!,
            value is null ? $"a {item.GetType().FullName} has no {name} property" : $"its {name} '{value}' is not a number from 0 to 255");
    }

    private static UsbRedirException InterfaceInvalid(string what, string why) =>
        new(UsbRedirFilterErrorIds.FilterDeviceInvalid, UsbRedirErrorCategory.InvalidArgument,
            $"Cannot use '{what}' as an interface: {why}.",
            "Give each interface as class/subclass/protocol in hex (e.g. 08/06/50), or an object with Class, SubClass and Protocol properties.",
            what);
}
