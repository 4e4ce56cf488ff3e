using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>
/// Tab completion of -Filter: the usual filters as usbredir filter strings (quoted, ready to run), each listed
/// by what it lets through. What was typed matches a preset's name or the start of its string.
/// </summary>
public sealed class FilterPresetCompleter : IArgumentCompleter
{
    /// <summary>Name, usbredir filter string, what it does.</summary>
    internal static readonly (string Name, string Filter, string Description)[] Presets =
    [
        ("MassStorage", "0x08,-1,-1,-1,1|-1,-1,-1,-1,0", "mass storage (disks, sticks) only"),
        ("Hid", "0x03,-1,-1,-1,1|-1,-1,-1,-1,0", "HID (keyboards, mice) only"),
        ("NoHid", "0x03,-1,-1,-1,0|-1,-1,-1,-1,1", "anything but HID"),
        ("Audio", "0x01,-1,-1,-1,1|-1,-1,-1,-1,0", "audio only"),
        ("Any", "-1,-1,-1,-1,1", "every device"),
        ("None", "-1,-1,-1,-1,0", "no device"),
    ];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? "").Trim('\'', '"');
        return Presets
            .Where(p => p.Name.StartsWith(typed, StringComparison.OrdinalIgnoreCase) || p.Filter.StartsWith(typed, StringComparison.Ordinal))
            .Select(p => new CompletionResult($"'{p.Filter}'", p.Name, CompletionResultType.ParameterValue, $"{p.Description}: {p.Filter}"))
            .ToList();
    }
}
