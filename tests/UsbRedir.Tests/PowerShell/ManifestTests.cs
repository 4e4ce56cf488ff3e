using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>UsbRedir.psd1: a literal hashtable whose exports, files and version agree with the built module.</summary>
public class ManifestTests
{
    private static IReadOnlyDictionary<string, object> Source => Psd1Reader.Read(RepoPaths.Combine("UsbRedir.psd1"));

    private static IReadOnlyList<string> List(IReadOnlyDictionary<string, object> manifest, string key) =>
        ((List<object>)manifest[key]).Cast<string>().ToList();

    [Fact]
    public void Manifest_declares_a_binary_module_for_PowerShell_7_4_core()
    {
        var manifest = Source;
        Assert.Equal("UsbRedir.dll", manifest["RootModule"]);
        Assert.Equal(["Core"], List(manifest, "CompatiblePSEditions"));
        Assert.Equal("7.4", manifest["PowerShellVersion"]);
        Assert.True(Guid.TryParse((string)manifest["GUID"], out _), "GUID must be a GUID");
        Assert.Equal(["UsbRedir.format.ps1xml"], List(manifest, "FormatsToProcess"));
        // Only cmdlets: anything else exported by accident (VariablesToExport defaults to '*') is a bug.
        Assert.Empty(List(manifest, "FunctionsToExport"));
        Assert.Empty(List(manifest, "AliasesToExport"));
        Assert.Empty(List(manifest, "VariablesToExport"));
        Assert.False(string.IsNullOrWhiteSpace((string)manifest["Description"]));
    }

    [Fact]
    public void CmdletsToExport_lists_exactly_the_cmdlet_classes()
    {
        var exported = List(Source, "CmdletsToExport");
        var classes = PublishedModule.Cmdlets.Select(c => c.Name).ToList();
        Assert.Equal(exported.Count, exported.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(classes.Order(StringComparer.Ordinal), exported.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ModuleVersion_lives_in_the_manifest_and_the_assembly_and_published_copy_follow_it()
    {
        var version = (string)Source["ModuleVersion"]!;
        Assert.Equal(version, Psd1Reader.Read(Path.Combine(PublishedModule.Folder, "UsbRedir.psd1"))["ModuleVersion"]);
        Assert.Equal(Version.Parse(version), new Version(PublishedModule.Assembly.GetName().Version!.ToString(3)));
    }

    [Fact]
    public void Published_manifest_is_the_source_manifest_and_names_files_that_exist()
    {
        var published = Path.Combine(PublishedModule.Folder, "UsbRedir.psd1");
        Assert.Equal(File.ReadAllBytes(RepoPaths.Combine("UsbRedir.psd1")), File.ReadAllBytes(published));
        var manifest = Psd1Reader.Read(published);
        Assert.True(File.Exists(Path.Combine(PublishedModule.Folder, (string)manifest["RootModule"])));
        foreach (var format in List(manifest, "FormatsToProcess"))
            Assert.True(File.Exists(Path.Combine(PublishedModule.Folder, format)), format);
    }

    [Theory]
    [InlineData("@{ ModuleVersion = $version }")]
    [InlineData("@{ ModuleVersion = \"$(1+1)\" }")]
    [InlineData("@{ RootModule = 'a.dll'; RootModule = 'b.dll' }")]
    [InlineData("@{ CmdletsToExport = @('A' }")]
    public void Reader_rejects_manifests_that_are_not_pure_literals(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"usbredir-{Guid.NewGuid():n}.psd1");
        File.WriteAllText(path, text);
        try
        {
            Assert.Throws<FormatException>(() => Psd1Reader.Read(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
