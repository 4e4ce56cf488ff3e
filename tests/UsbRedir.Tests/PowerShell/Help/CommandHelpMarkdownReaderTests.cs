namespace UsbRedir.Tests.PowerShell.Help;

/// <summary>The reader refuses help that would lose content on its way to MAML.</summary>
public class CommandHelpMarkdownReaderTests
{
    private const string Valid = """
        ---
        document type: cmdlet
        title: Get-UsbThing
        ---

        # Get-UsbThing

        ## SYNOPSIS

        Gets things.

        ## SYNTAX

        ### __AllParameterSets

        ```
        Get-UsbThing [-Name] <string> [<CommonParameters>]
        ```

        ## DESCRIPTION

        First paragraph
        continues here.

        Second paragraph.

        ## EXAMPLES

        ### Example 1: One

        ```powershell
        Get-UsbThing a & b
        ```

        Explains.

        ## PARAMETERS

        ### -Name

        The name.

        ```yaml
        Type: System.String
        DefaultValue: None
        SupportsWildcards: true
        Aliases:
        - N
        ParameterSets:
        - Name: (All)
          Position: 0
          IsRequired: true
          ValueFromPipeline: false
          ValueFromPipelineByPropertyName: true
          ValueFromRemainingArguments: false
        DontShow: false
        AcceptedValues: []
        HelpMessage: ''
        ```

        ### CommonParameters

        Common.

        ## INPUTS

        ### None

        Nothing.

        ## OUTPUTS

        ### System.String

        A string.

        ## NOTES

        A note.

        ## RELATED LINKS

        - [about_UsbRedir]()
        - [Online](https://example.org/x)
        """;

    [Fact]
    public void Reads_every_section()
    {
        var help = CommandHelpMarkdownReader.Parse(Valid);
        Assert.Equal("Get-UsbThing", help.Name);
        Assert.Equal("Gets things.", help.Synopsis);
        Assert.Equal(["First paragraph continues here.", "Second paragraph."], help.Description);
        Assert.Equal("Get-UsbThing a & b", Assert.Single(help.Examples).Code);
        var name = Assert.Single(help.Parameters);
        Assert.Equal(["N"], name.Aliases);
        Assert.True(name.SupportsWildcards);
        Assert.Equal(new ParameterSetHelp("(All)", 0, true, false, true, false), Assert.Single(name.ParameterSets));
        Assert.Equal([new LinkHelp("about_UsbRedir", ""), new LinkHelp("Online", "https://example.org/x")], help.RelatedLinks);
    }

    [Fact]
    public void Writes_escaped_MAML_with_per_set_values()
    {
        var maml = MamlWriter.Write([CommandHelpMarkdownReader.Parse(Valid)]);
        Assert.Contains("<dev:code>Get-UsbThing a &amp; b</dev:code>", maml);
        Assert.Contains("pipelineInput=\"true (ByPropertyName)\" position=\"0\" aliases=\"N\"", maml);
        Assert.Contains("<maml:uri>https://example.org/x</maml:uri>", maml);
    }

    [Theory]
    [InlineData("## NOTES\n\nA note.\n\n", "")]                                  // a section missing
    [InlineData("IsRequired: true", "IsRequired: yes")]                            // not a yaml bool
    [InlineData("  ValueFromRemainingArguments: false\n", "")]                     // a set key missing
    [InlineData("HelpMessage: ''", "HelpMessage: ''\nMandatory: true")]            // an unknown key
    [InlineData("title: Get-UsbThing", "title: Get-Other")]                       // title and heading disagree
    [InlineData("- [Online](https://example.org/x)", "See https://example.org/x")] // a link not in list form
    public void Rejects_incomplete_or_malformed_help(string original, string replacement)
    {
        var broken = Valid.Replace(original, replacement, StringComparison.Ordinal);
        Assert.NotEqual(Valid, broken);
        Assert.Throws<FormatException>(() => CommandHelpMarkdownReader.Parse(broken));
    }
}
