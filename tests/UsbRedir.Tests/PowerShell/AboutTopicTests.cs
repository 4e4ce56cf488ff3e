using System.Text.RegularExpressions;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>en-US/about_UsbRedir.help.txt: the strict head Get-Help needs, and a command list that matches the module.</summary>
public class AboutTopicTests
{
    private static string[] Lines => File.ReadAllText(RepoPaths.Combine("en-US", "about_UsbRedir.help.txt")).ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    [Fact]
    public void Head_is_in_the_format_Get_Help_reads()
    {
        var lines = Lines;
        Assert.Equal("TOPIC", lines[0]);
        Assert.Equal("    about_UsbRedir", lines[1]);
        Assert.Equal("", lines[2]);
        Assert.Equal("SHORT DESCRIPTION", lines[3]);
        Assert.Matches(@"^    \S.*$", lines[4]);
        Assert.Equal("", lines[5]);
        Assert.Contains("LONG DESCRIPTION", lines);
    }

    [Fact]
    public void Body_is_indented_headings_are_capitals_and_lines_fit_80_columns()
    {
        var violations = new List<string>();
        foreach (var (line, number) in Lines.Select((l, i) => (l, i + 1)))
        {
            if (line.Length > 80)
                violations.Add($"line {number} is {line.Length} columns");
            if (line.Length > 0 && !line.StartsWith("    ", StringComparison.Ordinal) && !Regex.IsMatch(line, "^[A-Z][A-Z -]*$"))
                violations.Add($"line {number}: text at column 1 must be a heading in capitals: '{line}'");
            if (line.Contains('\t'))
                violations.Add($"line {number} has a tab");
        }
        Violations.None(violations);
    }

    [Fact]
    public void Names_every_cmdlet_of_the_module_and_no_other()
    {
        var text = string.Join("\n", Lines);
        var exported = PublishedModule.Cmdlets.Select(c => c.Name).ToHashSet();
        var mentioned = Regex.Matches(text, @"\b[A-Z][a-z]+(?:[A-Z][a-z]+)?-(?:Usb|Vhci)[A-Za-z]*\b").Select(m => m.Value).ToHashSet();
        Violations.None(exported.Except(mentioned).Select(n => $"{n} is not described in about_UsbRedir"));
        Violations.None(mentioned.Except(exported).Select(n => $"about_UsbRedir names {n}, which the module does not have"));
        Assert.Contains("usbredir filter", text);
    }
}
