using System.Text.RegularExpressions;
using System.Xml.Linq;
using UsbRedir.Tests.PowerShell.Help;
using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>
/// docs/help/*.md (the help source) and en-US/UsbRedir.dll-Help.xml (generated from it) describe exactly the cmdlets
/// and parameters the code has. Regenerate the MAML after editing markdown with
/// USBREDIR_UPDATE_HELP=1 dotnet test tests/UsbRedir.Tests --filter "FullyQualifiedName~PowerShell.HelpTests".
/// </summary>
public class HelpTests
{
    private static readonly XNamespace Msh = MamlWriter.Msh;
    private static readonly XNamespace Maml = MamlWriter.Maml;
    private static readonly XNamespace Command = MamlWriter.Command;
    private static readonly XNamespace Dev = MamlWriter.Dev;

    private static IReadOnlyList<CmdletMetadata> Cmdlets => PublishedModule.Cmdlets;

    private static IReadOnlyDictionary<string, CommandHelp> Markdown => HelpFiles.ReadAll().ToDictionary(h => h.Name);

    /// <summary>The parameters help documents: the cmdlet's own, plus Confirm and WhatIf with ShouldProcess.</summary>
    private static IEnumerable<(string Name, string Type, IReadOnlyList<ParameterSetMetadata> Sets)> DocumentedParameters(CmdletMetadata c)
    {
        foreach (var p in c.Parameters)
            yield return (p.Name, p.Type.FullName!, p.Sets);
        if (c.SupportsShouldProcess)
        {
            ParameterSetMetadata all = new(CmdletMetadata.AllParameterSets, false, null, false, false, false);
            yield return ("Confirm", "System.Management.Automation.SwitchParameter", [all]);
            yield return ("WhatIf", "System.Management.Automation.SwitchParameter", [all]);
        }
    }

    private static string MarkdownSetName(string set) => set == CmdletMetadata.AllParameterSets ? ParameterSetHelp.All : set;

    [Fact]
    public void Every_cmdlet_has_one_markdown_file_and_every_file_a_cmdlet()
    {
        var files = Directory.EnumerateFiles(HelpFiles.MarkdownFolder, "*.md").Select(Path.GetFileNameWithoutExtension).Order().ToList();
        Assert.Equal(Cmdlets.Select(c => c.Name).Order(), files);
    }

    [Fact]
    public void Markdown_is_complete_PlatyPS_v2_help()
    {
        var violations = new List<string>();
        foreach (var help in Markdown.Values)
        {
            var expected = new Dictionary<string, string>
            {
                ["document type"] = "cmdlet", ["external help file"] = "UsbRedir.dll-Help.xml", ["Locale"] = "en-US",
                ["Module Name"] = "UsbRedir", ["PlatyPS schema version"] = "2024-05-01", ["title"] = help.Name,
            };
            foreach (var (key, value) in expected)
                if (help.Metadata.GetValueOrDefault(key) != value)
                    violations.Add($"{help.Name}: front matter '{key}' must be '{value}'");
            if (help.Synopsis.Length < 20)
                violations.Add($"{help.Name}: synopsis missing or too short");
            if (help.Description.Count == 0)
                violations.Add($"{help.Name}: no description");
            if (help.Examples.Count == 0 || help.Examples.Any(e => e.Remarks.Count == 0))
                violations.Add($"{help.Name}: needs at least one example, each with an explanation");
            if (!help.HasCommonParameters)
                violations.Add($"{help.Name}: no '### CommonParameters' entry");
            if (help.Inputs.Count == 0 || help.Outputs.Count == 0)
                violations.Add($"{help.Name}: INPUTS and OUTPUTS need an entry each (use None when nothing)");
            violations.AddRange(help.Parameters.Where(p => p.Description.Count == 0).Select(p => $"{help.Name} -{p.Name}: no description"));
            var text = File.ReadAllText(Path.Combine(HelpFiles.MarkdownFolder, help.Name + ".md"));
            if (text.Contains("{{", StringComparison.Ordinal))
                violations.Add($"{help.Name}: placeholder text '{{{{ … }}}}' left in");
        }
        Violations.None(violations);
    }

    [Fact]
    public void Markdown_parameters_match_the_code()
    {
        var violations = new List<string>();
        var markdown = Markdown;
        foreach (var c in Cmdlets)
        {
            if (!markdown.TryGetValue(c.Name, out var help))
            {
                violations.Add($"{c}: no docs/help/{c.Name}.md");
                continue;
            }
            var documented = help.Parameters.ToDictionary(p => p.Name);
            var code = DocumentedParameters(c).ToList();
            violations.AddRange(code.Where(p => !documented.ContainsKey(p.Name)).Select(p => $"{c}: -{p.Name} is not documented"));
            violations.AddRange(documented.Keys.Except(code.Select(p => p.Name)).Select(n => $"{c}: documents -{n}, which the cmdlet does not have"));
            foreach (var (name, type, sets) in code.Where(p => documented.ContainsKey(p.Name)))
            {
                var doc = documented[name];
                if (doc.Type != type)
                    violations.Add($"{c} -{name}: Type is {doc.Type} in markdown, {type} in code");
                var meta = c.Parameters.FirstOrDefault(p => p.Name == name);
                if (meta is not null && !meta.Aliases.Order().SequenceEqual(doc.Aliases.Order()))
                    violations.Add($"{c} -{name}: Aliases [{string.Join(", ", doc.Aliases)}] in markdown, [{string.Join(", ", meta.Aliases)}] in code");
                if (meta is not null && meta.SupportsWildcards != doc.SupportsWildcards)
                    violations.Add($"{c} -{name}: SupportsWildcards differs");
                var expectedSets = sets.Select(s => new ParameterSetHelp(MarkdownSetName(s.SetName), s.Position, s.Mandatory,
                    s.ValueFromPipeline, s.ValueFromPipelineByPropertyName, s.ValueFromRemainingArguments)).OrderBy(s => s.Name).ToList();
                var docSets = doc.ParameterSets.OrderBy(s => s.Name).ToList();
                if (!expectedSets.SequenceEqual(docSets))
                    violations.Add($"{c} -{name}: ParameterSets in markdown\n    {string.Join("\n    ", docSets)}\n  code says\n    {string.Join("\n    ", expectedSets)}");
            }
        }
        Violations.None(violations);
    }

    [Fact]
    public void Markdown_syntax_matches_the_parameter_sets()
    {
        var violations = new List<string>();
        var markdown = Markdown;
        foreach (var c in Cmdlets.Where(c => markdown.ContainsKey(c.Name)))
        {
            var help = markdown[c.Name];
            var sets = c.ParameterSetNames;
            if (!sets.Order().SequenceEqual(help.Syntax.Select(s => s.SetName).Order()))
                violations.Add($"{c}: SYNTAX has sets {string.Join(", ", help.Syntax.Select(s => s.SetName))}; code has {string.Join(", ", sets)}");
            var defaultSet = c.DefaultParameterSetName ?? (sets.Count == 1 ? sets[0] : null);
            foreach (var syntax in help.Syntax)
            {
                if (syntax.IsDefault != (syntax.SetName == defaultSet))
                    violations.Add($"{c}: '(Default)' belongs on {defaultSet}, not on {syntax.SetName}");
                if (!syntax.Code.StartsWith(c.Name + " ", StringComparison.Ordinal) || !syntax.Code.EndsWith("[<CommonParameters>]", StringComparison.Ordinal))
                    violations.Add($"{c} [{syntax.SetName}]: syntax must start with the name and end with [<CommonParameters>]");
                var named = Regex.Matches(syntax.Code, @"(?<=[\s\[])-(\w+)").Select(m => m.Groups[1].Value).Order().ToList();
                var inSet = c.InSet(syntax.SetName).Select(m => m.Parameter.Name)
                    .Concat(c.SupportsShouldProcess ? ["Confirm", "WhatIf"] : []).Order().ToList();
                if (!named.SequenceEqual(inSet))
                    violations.Add($"{c} [{syntax.SetName}]: syntax names {string.Join(", ", named)}; the set has {string.Join(", ", inSet)}");
            }
        }
        Violations.None(violations);
    }

    [Fact]
    public void Markdown_outputs_are_the_declared_output_types()
    {
        var markdown = Markdown;
        foreach (var c in Cmdlets.Where(c => markdown.ContainsKey(c.Name)))
            Assert.Equal(c.OutputTypes.Select(t => t.FullName!).Order(), markdown[c.Name].Outputs.Select(o => o.TypeName).Order());
    }

    [Fact]
    public void Committed_MAML_is_generated_from_the_markdown()
    {
        var generated = HelpFiles.GenerateMaml();
        if (Environment.GetEnvironmentVariable(HelpFiles.UpdateVariable) == "1")
            File.WriteAllText(HelpFiles.MamlPath, generated);
        var committed = File.Exists(HelpFiles.MamlPath) ? File.ReadAllText(HelpFiles.MamlPath).ReplaceLineEndings("\n") : "";
        Assert.True(generated == committed,
            $"en-US/UsbRedir.dll-Help.xml is not what docs/help/*.md generate. Regenerate it with: "
            + $"{HelpFiles.UpdateVariable}=1 dotnet test tests/UsbRedir.Tests --filter \"FullyQualifiedName~PowerShell.HelpTests\"");
    }

    [Fact]
    public void MAML_has_the_structure_Get_Help_reads()
    {
        var document = XDocument.Load(HelpFiles.MamlPath);
        Assert.Equal(Msh + "helpItems", document.Root!.Name);
        Assert.Equal("maml", (string?)document.Root.Attribute("schema"));
        var commands = document.Root.Elements(Command + "command").ToList();
        foreach (var command in commands)
        {
            Assert.Equal(MamlWriter.Maml, command.Attribute(XNamespace.Xmlns + "maml")?.Value);
            Assert.Equal(MamlWriter.Command, command.Attribute(XNamespace.Xmlns + "command")?.Value);
            Assert.Equal(MamlWriter.Dev, command.Attribute(XNamespace.Xmlns + "dev")?.Value);
            Assert.Equal(MamlWriter.MSHelp, command.Attribute(XNamespace.Xmlns + "MSHelp")?.Value);
            Assert.Equal(
                ["details", "description", "syntax", "parameters", "inputTypes", "returnValues", "alertSet", "examples", "relatedLinks"],
                command.Elements().Select(e => e.Name.LocalName));
            Assert.NotEmpty(command.Element(Command + "examples")!.Elements(Command + "example"));
            Assert.NotEmpty(command.Element(Maml + "description")!.Elements(Maml + "para"));
        }
        Assert.Equal(Cmdlets.Select(c => c.Name).Order(), commands.Select(c => c.Element(Command + "details")!.Element(Command + "name")!.Value).Order());
    }

    [Fact]
    public void MAML_parameters_and_syntax_match_the_code()
    {
        var document = XDocument.Load(HelpFiles.MamlPath);
        var markdown = Markdown;
        var violations = new List<string>();
        foreach (var c in Cmdlets)
        {
            var command = document.Root!.Elements(Command + "command").FirstOrDefault(e => e.Element(Command + "details")!.Element(Command + "name")!.Value == c.Name);
            if (command is null)
            {
                violations.Add($"{c}: not in the MAML");
                continue;
            }
            var details = command.Element(Command + "details")!;
            if (details.Element(Command + "verb")!.Value != c.Verb || details.Element(Command + "noun")!.Value != c.Noun)
                violations.Add($"{c}: MAML verb/noun differ");
            if (string.IsNullOrWhiteSpace(details.Element(Maml + "description")?.Value))
                violations.Add($"{c}: MAML synopsis empty");

            // command:parameters: every parameter once, with values across its sets.
            var parameters = command.Element(Command + "parameters")!.Elements(Command + "parameter").ToDictionary(p => p.Element(Maml + "name")!.Value);
            var code = DocumentedParameters(c).ToList();
            if (!code.Select(p => p.Name).Order().SequenceEqual(parameters.Keys.Order()))
                violations.Add($"{c}: MAML parameters {string.Join(", ", parameters.Keys)}; code has {string.Join(", ", code.Select(p => p.Name))}");
            foreach (var (name, _, sets) in code.Where(p => parameters.ContainsKey(p.Name)))
            {
                var element = parameters[name];
                Expect(violations, $"{c} -{name} required", sets.Any(s => s.Mandatory) ? "true" : "false", element.Attribute("required")?.Value);
                Expect(violations, $"{c} -{name} pipelineInput",
                    MamlWriter.PipelineInput(sets.Any(s => s.ValueFromPipeline), sets.Any(s => s.ValueFromPipelineByPropertyName)),
                    element.Attribute("pipelineInput")?.Value);
                if (sets.Select(s => s.Position).Distinct().Count() == 1)
                    Expect(violations, $"{c} -{name} position", sets[0].Position?.ToString() ?? "named", element.Attribute("position")?.Value);
            }

            // command:syntax: one item per set, in the markdown's set order, with that set's values.
            var items = command.Element(Command + "syntax")!.Elements(Command + "syntaxItem").ToList();
            var setOrder = markdown.TryGetValue(c.Name, out var help) ? help.Syntax.Select(s => s.SetName).ToList() : [];
            if (items.Count != c.ParameterSetNames.Count || setOrder.Count != items.Count)
            {
                violations.Add($"{c}: {items.Count} syntax items for {c.ParameterSetNames.Count} parameter sets");
                continue;
            }
            foreach (var (item, set) in items.Zip(setOrder))
            {
                var inSet = c.InSet(set).ToDictionary(m => m.Parameter.Name, m => m.Set);
                if (c.SupportsShouldProcess)
                {
                    inSet["Confirm"] = new(set, false, null, false, false, false);
                    inSet["WhatIf"] = new(set, false, null, false, false, false);
                }
                var syntaxParameters = item.Elements(Command + "parameter").ToDictionary(p => p.Element(Maml + "name")!.Value);
                if (!inSet.Keys.Order().SequenceEqual(syntaxParameters.Keys.Order()))
                {
                    violations.Add($"{c} [{set}]: syntax has {string.Join(", ", syntaxParameters.Keys)}; the set has {string.Join(", ", inSet.Keys)}");
                    continue;
                }
                foreach (var (name, s) in inSet)
                {
                    var element = syntaxParameters[name];
                    Expect(violations, $"{c} [{set}] -{name} required", s.Mandatory ? "true" : "false", element.Attribute("required")?.Value);
                    Expect(violations, $"{c} [{set}] -{name} position", s.Position?.ToString() ?? "named", element.Attribute("position")?.Value);
                    Expect(violations, $"{c} [{set}] -{name} pipelineInput",
                        MamlWriter.PipelineInput(s.ValueFromPipeline, s.ValueFromPipelineByPropertyName), element.Attribute("pipelineInput")?.Value);
                }
            }

            var returns = command.Element(Command + "returnValues")!.Elements(Command + "returnValue")
                .Select(r => r.Element(Dev + "type")!.Element(Maml + "name")!.Value).Order();
            if (!returns.SequenceEqual(c.OutputTypes.Select(t => t.FullName!).Order()))
                violations.Add($"{c}: MAML returnValues differ from [OutputType]");
        }
        Violations.None(violations);
    }

    private static void Expect(List<string> violations, string what, string expected, string? actual)
    {
        if (expected != actual)
            violations.Add($"{what}: MAML says '{actual}', code says '{expected}'");
    }
}
