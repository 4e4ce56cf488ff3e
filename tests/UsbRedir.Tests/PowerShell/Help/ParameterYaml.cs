namespace UsbRedir.Tests.PowerShell.Help;

/// <summary>
/// The structured yaml block PlatyPS v2 writes under each "### -Name" heading. Only that regular shape is
/// accepted: "Key: scalar", "Key: []" or "Key:" followed by "- item" lines (ParameterSets items are maps).
/// </summary>
internal static class ParameterYaml
{
    private static readonly string[] Keys =
        ["Type", "DefaultValue", "SupportsWildcards", "Aliases", "ParameterSets", "DontShow", "AcceptedValues", "HelpMessage"];

    private static readonly string[] SetKeys =
        ["Name", "Position", "IsRequired", "ValueFromPipeline", "ValueFromPipelineByPropertyName", "ValueFromRemainingArguments"];

    public static ParameterHelp Read(string name, IReadOnlyList<string> description, string yaml)
    {
        var scalars = new Dictionary<string, string>();
        var lists = new Dictionary<string, List<string>>();
        var sets = new List<Dictionary<string, string>>();
        string? openList = null;
        foreach (var raw in yaml.Split('\n').Where(l => l.Trim().Length > 0))
        {
            if (raw.StartsWith("- ", StringComparison.Ordinal) || raw.StartsWith("  ", StringComparison.Ordinal))
            {
                if (openList is null)
                    throw new FormatException($"list item '{raw}' without a key");
                if (openList == "ParameterSets")
                {
                    if (raw.StartsWith("- ", StringComparison.Ordinal))
                        sets.Add([]);
                    var (k, v) = KeyValue(raw[2..]);
                    if (!SetKeys.Contains(k) || !sets[^1].TryAdd(k, v))
                        throw new FormatException($"unknown or repeated ParameterSets key '{k}'");
                }
                else if (raw.StartsWith("- ", StringComparison.Ordinal))
                {
                    lists[openList].Add(CommandHelpMarkdownReader.Unquote(raw[2..].Trim()));
                }
                else
                {
                    throw new FormatException($"unexpected indented line '{raw}'");
                }
                continue;
            }
            var (key, value) = KeyValue(raw);
            if (!Keys.Contains(key) || scalars.ContainsKey(key) || lists.ContainsKey(key))
                throw new FormatException($"unknown or repeated key '{key}'");
            openList = null;
            if (key is "Aliases" or "AcceptedValues" or "ParameterSets")
            {
                lists[key] = [];
                if (value == "")
                    openList = key;
                else if (value.StartsWith('[') && value.EndsWith(']'))
                    lists[key].AddRange(value[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(CommandHelpMarkdownReader.Unquote));
                else
                    throw new FormatException($"'{key}' must be a list");
            }
            else
            {
                scalars[key] = value;
            }
        }
        var missing = Keys.Where(k => !scalars.ContainsKey(k) && !lists.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new FormatException($"missing keys {string.Join(", ", missing)}");
        if (sets.Count == 0)
            throw new FormatException("ParameterSets is empty");
        return new ParameterHelp(
            name,
            description,
            scalars["Type"],
            scalars["DefaultValue"],
            Bool(scalars["SupportsWildcards"]),
            lists["Aliases"],
            sets.Select(ReadSet).ToList(),
            Bool(scalars["DontShow"]),
            lists["AcceptedValues"],
            scalars["HelpMessage"]);
    }

    private static ParameterSetHelp ReadSet(Dictionary<string, string> set)
    {
        var missing = SetKeys.Where(k => !set.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new FormatException($"parameter set entry misses {string.Join(", ", missing)}");
        int? position = set["Position"] == "Named" ? null
            : int.TryParse(set["Position"], out var p) && p >= 0 ? p
            : throw new FormatException($"Position must be Named or a number, not '{set["Position"]}'");
        return new ParameterSetHelp(set["Name"], position, Bool(set["IsRequired"]), Bool(set["ValueFromPipeline"]),
            Bool(set["ValueFromPipelineByPropertyName"]), Bool(set["ValueFromRemainingArguments"]));
    }

    private static (string Key, string Value) KeyValue(string line)
    {
        var colon = line.IndexOf(':');
        if (colon <= 0)
            throw new FormatException($"'{line}' is not 'Key: value'");
        return (line[..colon].Trim(), CommandHelpMarkdownReader.Unquote(line[(colon + 1)..].Trim()));
    }

    private static bool Bool(string value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new FormatException($"'{value}' is not true or false"),
    };
}
