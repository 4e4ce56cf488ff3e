using System.Text.RegularExpressions;

namespace UsbRedir.Tests.PowerShell.Help;

/// <summary>
/// Reads a PlatyPS v2 cmdlet markdown file (schema 2024-05-01). Strict on purpose: a missing or misplaced
/// section, an unknown yaml key or a malformed parameter block is an error naming the file and the problem,
/// so help cannot silently lose content on its way to MAML.
/// </summary>
public static partial class CommandHelpMarkdownReader
{
    private static readonly string[] SectionOrder =
        ["SYNOPSIS", "SYNTAX", "ALIASES", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"];

    private static readonly string[] OptionalSections = ["ALIASES"];

    public static CommandHelp Read(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path).ReplaceLineEndings("\n"));
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    public static CommandHelp Parse(string markdown)
    {
        var lines = markdown.Split('\n');
        var (metadata, bodyStart) = ReadFrontMatter(lines);
        var blocks = Tokenize(lines.Skip(bodyStart));
        if (blocks.Count == 0 || blocks[0] is not Heading { Level: 1 } title)
            throw new FormatException("the first thing after the front matter must be '# Verb-Noun'");
        if (!metadata.TryGetValue("title", out var metaTitle) || metaTitle != title.Text)
            throw new FormatException($"front matter 'title' must equal the heading '{title.Text}'");

        var sections = SplitSections(blocks.Skip(1).ToList());
        var expected = SectionOrder.Where(s => !OptionalSections.Contains(s) || sections.Any(x => x.Name == s)).ToList();
        var actual = sections.Select(s => s.Name).ToList();
        if (!expected.SequenceEqual(actual))
            throw new FormatException($"sections must be {string.Join(", ", expected)} in that order; found {string.Join(", ", actual)}");
        var byName = sections.ToDictionary(s => s.Name, s => s.Blocks);

        var parametersSection = Subsections(byName["PARAMETERS"]);
        var common = parametersSection.Any(s => s.Title == "CommonParameters");
        return new CommandHelp(
            title.Text,
            metadata,
            string.Join(" ", Paragraphs(byName["SYNOPSIS"])),
            ReadSyntax(byName["SYNTAX"]),
            Paragraphs(byName["DESCRIPTION"]),
            Subsections(byName["EXAMPLES"]).Select(ReadExample).ToList(),
            parametersSection.Where(s => s.Title != "CommonParameters").Select(ReadParameter).ToList(),
            common,
            Subsections(byName["INPUTS"]).Select(s => new TypeHelp(s.Title, Paragraphs(s.Blocks))).ToList(),
            Subsections(byName["OUTPUTS"]).Select(s => new TypeHelp(s.Title, Paragraphs(s.Blocks))).ToList(),
            Paragraphs(byName["NOTES"]),
            Paragraphs(byName["RELATED LINKS"]).Select(ReadLink).ToList());
    }

    private abstract record Block;

    private sealed record Heading(int Level, string Text) : Block;

    private sealed record Code(string Language, string Text) : Block;

    private sealed record Paragraph(string Text) : Block;

    private sealed record Section(string Name, List<Block> Blocks);

    private sealed record Subsection(string Title, List<Block> Blocks);

    private static (Dictionary<string, string> Metadata, int BodyStart) ReadFrontMatter(string[] lines)
    {
        if (lines.Length == 0 || lines[0] != "---")
            throw new FormatException("missing yaml front matter (first line must be ---)");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i] == "---")
                return (metadata, i + 1);
            var colon = lines[i].IndexOf(':');
            if (colon <= 0)
                throw new FormatException($"front matter line '{lines[i]}' is not 'key: value'");
            metadata[lines[i][..colon].Trim()] = Unquote(lines[i][(colon + 1)..].Trim());
        }
        throw new FormatException("front matter is not closed with ---");
    }

    /// <summary>Headings, fenced code blocks and paragraphs; each list item is a paragraph of its own.</summary>
    private static List<Block> Tokenize(IEnumerable<string> lines)
    {
        var blocks = new List<Block>();
        var paragraph = new List<string>();
        List<string>? code = null;
        var language = "";
        void Flush()
        {
            if (paragraph.Count > 0)
                blocks.Add(new Paragraph(string.Join(" ", paragraph.Select(l => l.Trim()))));
            paragraph.Clear();
        }

        foreach (var line in lines)
        {
            if (code is not null)
            {
                if (line.TrimEnd() == "```")
                {
                    blocks.Add(new Code(language, string.Join("\n", code)));
                    code = null;
                }
                else
                {
                    code.Add(line);
                }
                continue;
            }
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                Flush();
                code = [];
                language = line[3..].Trim();
            }
            else if (HeadingPattern().Match(line) is { Success: true } heading)
            {
                Flush();
                blocks.Add(new Heading(heading.Groups[1].Length, heading.Groups[2].Value.Trim()));
            }
            else if (string.IsNullOrWhiteSpace(line))
            {
                Flush();
            }
            else if (line.StartsWith("- ", StringComparison.Ordinal) || line.StartsWith("* ", StringComparison.Ordinal))
            {
                Flush();
                paragraph.Add(line);
            }
            else
            {
                paragraph.Add(line);
            }
        }
        if (code is not null)
            throw new FormatException("a fenced code block is not closed");
        Flush();
        return blocks;
    }

    private static List<Section> SplitSections(List<Block> blocks)
    {
        var sections = new List<Section>();
        foreach (var block in blocks)
        {
            if (block is Heading { Level: 2 } h)
                sections.Add(new Section(h.Text, []));
            else if (block is Heading { Level: 1 })
                throw new FormatException("only one '#' heading is allowed");
            else if (sections.Count == 0)
                throw new FormatException("text before the first '##' section");
            else
                sections[^1].Blocks.Add(block);
        }
        return sections;
    }

    private static List<Subsection> Subsections(List<Block> blocks)
    {
        var result = new List<Subsection>();
        foreach (var block in blocks)
        {
            if (block is Heading { Level: 3 } h)
                result.Add(new Subsection(h.Text, []));
            else if (block is Heading other)
                throw new FormatException($"unexpected heading level {other.Level}: '{other.Text}'");
            else if (result.Count == 0)
                throw new FormatException("text before the first '###' entry of a section that holds entries");
            else
                result[^1].Blocks.Add(block);
        }
        return result;
    }

    private static List<string> Paragraphs(IEnumerable<Block> blocks) =>
        blocks.Select(b => b switch
        {
            Paragraph p => p.Text,
            _ => throw new FormatException($"only plain paragraphs are allowed here, found {b}"),
        }).ToList();

    private static List<SyntaxSection> ReadSyntax(List<Block> blocks) =>
        Subsections(blocks).Select(s =>
        {
            var match = Regex.Match(s.Title, @"^(\S+?)( \(Default\))?$");
            var code = s.Blocks.OfType<Code>().ToList();
            if (!match.Success || code.Count != 1 || s.Blocks.Count != 1)
                throw new FormatException($"syntax entry '{s.Title}' must be '### SetName [(Default)]' followed by one code block");
            return new SyntaxSection(match.Groups[1].Value, match.Groups[2].Success, code[0].Text.Trim());
        }).ToList();

    private static ExampleHelp ReadExample(Subsection s)
    {
        var code = s.Blocks.OfType<Code>().ToList();
        if (code.Count == 0)
            throw new FormatException($"example '{s.Title}' has no code block");
        // The first code block is the command; later blocks (sample output) stay with the remarks, in order.
        var remarks = s.Blocks.Where(b => b != code[0]).Select(b => b switch
        {
            Paragraph p => p.Text,
            Code c => c.Text,
            _ => throw new FormatException($"unexpected {b} in example '{s.Title}'"),
        }).ToList();
        return new ExampleHelp(s.Title, code[0].Text, remarks);
    }

    private static ParameterHelp ReadParameter(Subsection s)
    {
        if (!s.Title.StartsWith('-'))
            throw new FormatException($"parameter heading '{s.Title}' must be '### -Name'");
        var name = s.Title[1..];
        var yaml = s.Blocks.OfType<Code>().Where(c => c.Language == "yaml").ToList();
        if (yaml.Count != 1 || s.Blocks[^1] != yaml[0])
            throw new FormatException($"parameter -{name}: description paragraphs then exactly one ```yaml block");
        var description = Paragraphs(s.Blocks.Take(s.Blocks.Count - 1));
        try
        {
            return ParameterYaml.Read(name, description, yaml[0].Text);
        }
        catch (FormatException e)
        {
            throw new FormatException($"parameter -{name}: {e.Message}", e);
        }
    }

    private static LinkHelp ReadLink(string paragraph)
    {
        var match = Regex.Match(paragraph, @"^- \[([^\]]+)\]\(([^)]*)\)$");
        if (!match.Success)
            throw new FormatException($"related link '{paragraph}' must be '- [Text](uri)'");
        return new LinkHelp(match.Groups[1].Value, match.Groups[2].Value);
    }

    internal static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '\'' && value[^1] == '\'' ? value[1..^1].Replace("''", "'") : value;

    [GeneratedRegex(@"^(#{1,3}) (.+)$")]
    private static partial Regex HeadingPattern();
}
