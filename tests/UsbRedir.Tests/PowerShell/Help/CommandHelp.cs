namespace UsbRedir.Tests.PowerShell.Help;

/// <summary>
/// One cmdlet's help as written in docs/help/Verb-Noun.md (PlatyPS v2 schema 2024-05-01): the model both the
/// MAML generator and the docs-versus-code tests work from. Paragraphs are plain text, one entry per paragraph.
/// </summary>
public sealed record CommandHelp(
    string Name,
    IReadOnlyDictionary<string, string> Metadata,
    string Synopsis,
    IReadOnlyList<SyntaxSection> Syntax,
    IReadOnlyList<string> Description,
    IReadOnlyList<ExampleHelp> Examples,
    IReadOnlyList<ParameterHelp> Parameters,
    bool HasCommonParameters,
    IReadOnlyList<TypeHelp> Inputs,
    IReadOnlyList<TypeHelp> Outputs,
    IReadOnlyList<string> Notes,
    IReadOnlyList<LinkHelp> RelatedLinks)
{
    public string Verb => Name.Split('-', 2)[0];

    public string Noun => Name.Split('-', 2)[1];

    /// <summary>The parameters of one set in syntax order: positional by position, then the others as documented.</summary>
    public IEnumerable<(ParameterHelp Parameter, ParameterSetHelp Set)> InSet(string setName) =>
        Parameters
            .Select(p => (Parameter: p, Set: p.ParameterSets.FirstOrDefault(s => s.Name == setName) ?? p.ParameterSets.FirstOrDefault(s => s.Name == ParameterSetHelp.All)))
            .Where(x => x.Set is not null)
            .Select(x => (x.Parameter, x.Set!))
            .OrderBy(x => x.Item2.Position ?? int.MaxValue);
}

/// <summary>A "### SetName" (or "### SetName (Default)") heading under SYNTAX and its syntax line.</summary>
public sealed record SyntaxSection(string SetName, bool IsDefault, string Code);

public sealed record ExampleHelp(string Title, string Code, IReadOnlyList<string> Remarks);

public sealed record ParameterHelp(
    string Name,
    IReadOnlyList<string> Description,
    string Type,
    string DefaultValue,
    bool SupportsWildcards,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<ParameterSetHelp> ParameterSets,
    bool DontShow,
    IReadOnlyList<string> AcceptedValues,
    string HelpMessage)
{
    public bool IsSwitch => Type is "System.Management.Automation.SwitchParameter" or "SwitchParameter";
}

/// <summary>One entry of a parameter's ParameterSets list; Name "(All)" means every set.</summary>
public sealed record ParameterSetHelp(
    string Name,
    int? Position,
    bool IsRequired,
    bool ValueFromPipeline,
    bool ValueFromPipelineByPropertyName,
    bool ValueFromRemainingArguments)
{
    public const string All = "(All)";
}

public sealed record TypeHelp(string TypeName, IReadOnlyList<string> Description);

public sealed record LinkHelp(string Text, string Uri);
