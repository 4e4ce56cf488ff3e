using UsbRedir.Cli;
using UsbRedir.Cli.Commands;

namespace UsbRedir.Tests.Cli;

/// <summary>`usbredir filter` driven in-process through Program.RunAsync.</summary>
public sealed class FilterCommandTests
{
    /// <summary>Runs `usbredir ARGS` in-process, capturing both streams.</summary>
    internal static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var exit = Program.RunAsync(args, new CliConsole(output, error), CancellationToken.None).GetAwaiter().GetResult();
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void ParsePrintsTheNormalisedStringAndATable()
    {
        var (exit, output, _) = Run("filter", "parse", "|010,0x1234,-1,0x0256,1||-1,-1,-1,-1,0|");
        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("0x08,0x1234,-1,0x0256,1|-1,-1,-1,-1,0", lines[0]);
        Assert.Matches(@"^\s+#\s+CLASS\s+VENDOR\s+PRODUCT\s+VERSION\s+ACTION$", lines[1]);
        Assert.Matches(@"^\s+0\s+0x08\s+0x1234\s+any\s+2\.56\s+Allow$", lines[2]);
        Assert.Matches(@"^\s+1\s+any\s+any\s+any\s+any\s+Block$", lines[3]);
    }

    [Fact]
    public void ParseAcceptsQemuAndCustomSeparators()
    {
        Assert.Equal("0x08:-1:-1:-1:1|-1:-1:-1:-1:0",
            Run("filter", "parse", "8:-1:-1:-1:1|-1:-1:-1:-1:0", "--qemu").Out.Split('\n')[0]);
        Assert.Equal("0x08;-1;-1;-1;1/-1;-1;-1;-1;0",
            Run("filter", "parse", "8;-1 -1;-1;1/ -1;-1;-1;-1;0", "--token-separators", "; ", "--rule-separators", "/").Out.Split('\n')[0]);
    }

    [Fact]
    public void BadRulesAreUsageErrorsNamingTheRule()
    {
        var (exit, output, error) = Run("filter", "parse", "8,-1,-1,-1,1|0x100,-1,-1,-1,0");
        Assert.Equal(ExitCode.Usage, exit);
        Assert.Empty(output);
        Assert.Contains("[FilterValueOutOfRange]", error);
        Assert.Contains("rule 1", error);
        Assert.Contains("usbredir: fix:", error);
    }

    [Theory]
    [InlineData(new[] { "0x08,-1,-1,-1,0|-1,-1,-1,-1,1", "--device", "08:0781:5567:0100", "--interface", "08/06/50" }, 1, "denied")]
    [InlineData(new[] { "0x03,-1,-1,-1,0|-1,-1,-1,-1,1", "--device", "00:0d8c:0014:0100", "--interface", "01/01/00", "--interface", "03/00/00" }, 0, "allowed")]
    [InlineData(new[] { "0x03,-1,-1,-1,0|-1,-1,-1,-1,1", "--device", "00:0d8c:0014:0100", "--interface", "01/01/00", "--interface", "03/00/00", "--dont-skip-non-boot-hid" }, 1, "denied")]
    [InlineData(new[] { "0x08,-1,-1,-1,1", "--device", "ff:1234:5678:0100" }, FilterCommand.ExitNoMatch, "nomatch")]
    [InlineData(new[] { "0x08,-1,-1,-1,1", "--device", "ff:1234:5678:0100", "--default-allow" }, 0, "allowed")]
    [InlineData(new[] { "0x08:-1:-1:-1:1", "--qemu", "--device", "0x08:0x1234:0x5678:0x0100" }, 0, "allowed")]
    public void CheckPrintsTheDecisionAndExitsWithItsCode(string[] args, int expectedExit, string decision)
    {
        var (exit, output, error) = Run(["filter", "check", .. args]);
        Assert.Equal(expectedExit, exit);
        Assert.Equal(decision, output.Split('\n')[0]);
        Assert.Empty(error);
    }

    [Fact]
    public void CheckVerboseListsEveryPass()
    {
        var (exit, output, _) = Run("filter", "check", "0x03,-1,-1,-1,0|-1,-1,-1,-1,1", "--device", "00:0557:2419:0100",
            "--interface", "03/00/00", "--interface", "03/00/00", "--verbose");
        Assert.Equal(1, exit);
        Assert.Contains("of the non-boot-HID recheck", output);
        Assert.Equal(2, output.Split('\n').Count(l => l.StartsWith("  interface", StringComparison.Ordinal) && l.Contains("Skipped")));
        Assert.Contains("  interface 0 class 0x03 (recheck): Denied by rule 0", output);
    }

    [Theory]
    [InlineData(new[] { "check", "8,-1,-1,-1,1" }, "missing --device")]
    [InlineData(new[] { "check", "8,-1,-1,-1,1", "--device", "08:1:2" }, "[FilterDeviceInvalid]")]
    [InlineData(new[] { "check", "8,-1,-1,-1,1", "--device", "08:1:2:3", "--interface", "zz/0/0" }, "[FilterDeviceInvalid]")]
    [InlineData(new[] { "parse" }, "missing RULES")]
    [InlineData(new[] { "parse", "a", "b" }, "unexpected argument 'b'")]
    [InlineData(new[] { "parse", "8,-1,-1,-1,1", "--frobnicate" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "parse", "8:-1:-1:-1:1", "--qemu", "--token-separators", ":" }, "exclude each other")]
    [InlineData(new[] { "parse", "8,-1,-1,-1,1", "--token-separators", "" }, "[FilterSeparatorEmpty]")]
    [InlineData(new[] { "frob" }, "unknown subcommand 'frob'")]
    [InlineData(new string[0], "missing subcommand")]
    [InlineData(new[] { "convert" }, "either RULES or --from-xml")]
    [InlineData(new[] { "convert", "--from-xml", "/nonexistent/filter.xml" }, "[FilterFileUnreadable]")]
    public void MistakesAreExplained(string[] args, string message)
    {
        var (exit, _, error) = Run(["filter", .. args]);
        Assert.NotEqual(0, exit);
        Assert.Contains(message, error);
    }

    [Fact]
    public void ConvertMovesBetweenWireQemuAndLibvirtXml()
    {
        var path = Path.Combine(Path.GetTempPath(), $"usbredir-filter-{Guid.NewGuid():N}.xml");
        File.WriteAllText(path, "<domain><devices><redirfilter><usbdev class='0x08' vendor='0x1234' product='0xbeef' version='2.56' allow='yes'/>"
            + "<usbdev allow='no'/></redirfilter></devices></domain>");
        try
        {
            var fromXml = Run("filter", "convert", "--from-xml", path);
            Assert.Equal(0, fromXml.Exit);
            Assert.Equal("0x08,0x1234,0xbeef,0x0256,1|-1,-1,-1,-1,0\n", fromXml.Out);
            Assert.Equal("0x08:0x1234:0xbeef:0x0256:1|-1:-1:-1:-1:0\n", Run("filter", "convert", "--from-xml", path, "--to-qemu").Out);
            var toXml = Run("filter", "convert", "0x08:0x1234:0xbeef:0x0256:1|-1:-1:-1:-1:0", "--qemu", "--to-xml");
            Assert.Equal(0, toXml.Exit);
            Assert.Contains("<usbdev class='0x08' vendor='0x1234' product='0xBEEF' version='2.56' allow='yes'/>", toXml.Out);
            Assert.Contains("<usbdev allow='no'/>", toXml.Out);
            File.WriteAllText(path, "<redirfilter><usbdev version='2' allow='yes'/></redirfilter>");
            var bad = Run("filter", "convert", "--from-xml", path);
            Assert.Equal(ExitCode.Usage, bad.Exit);
            Assert.Contains("[FilterXmlInvalid]", bad.Err);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HelpListsTheCommand()
    {
        Assert.Contains("filter", Run("--help").Out);
        var (exit, output, _) = Run("filter", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("Exit codes: 0 allowed, 1 denied, 5 no rule matched", output);
    }
}
