using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell.Help;

/// <summary>Where the help source and the generated MAML live, and how to regenerate the MAML.</summary>
public static class HelpFiles
{
    /// <summary>Set to 1 to rewrite en-US/UsbRedir.dll-Help.xml from docs/help instead of failing when it differs.</summary>
    public const string UpdateVariable = "USBREDIR_UPDATE_HELP";

    public static string MarkdownFolder => RepoPaths.Combine("docs", "help");

    public static string MamlPath => RepoPaths.Combine("en-US", "UsbRedir.dll-Help.xml");

    public static IReadOnlyList<CommandHelp> ReadAll() =>
        Directory.EnumerateFiles(MarkdownFolder, "*.md").Order(StringComparer.Ordinal)
            .Select(CommandHelpMarkdownReader.Read).ToList();

    /// <summary>The MAML the committed markdown produces.</summary>
    public static string GenerateMaml() => MamlWriter.Write(ReadAll());
}
