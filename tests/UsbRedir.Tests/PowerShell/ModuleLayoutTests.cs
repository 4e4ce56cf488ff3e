using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>`dotnet publish src/UsbRedir.PowerShell` yields exactly the module folder users import, and nothing more.</summary>
public class ModuleLayoutTests
{
    /// <summary>Everything the module ships. A new dependency or file must be added here on purpose.</summary>
    private static readonly string[] Expected =
    [
        "UsbRedir.psd1", "UsbRedir.format.ps1xml", "UsbRedir.dll", "UsbRedir.Core.dll",
        "en-US/UsbRedir.dll-Help.xml", "en-US/about_UsbRedir.help.txt",
    ];

    private static List<string> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void Publish_output_is_the_module_folder()
    {
        var files = Files(PublishedModule.Folder);
        // Debug symbols may travel with the DLLs; nothing else may.
        Assert.Equal(Expected.Order(StringComparer.Ordinal), files.Where(f => !f.EndsWith(".pdb", StringComparison.Ordinal)));
        Assert.DoesNotContain(files, f => f.Contains("System.Management.Automation", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Published_help_and_format_file_are_the_committed_ones()
    {
        var files = Files(RepoPaths.Combine("en-US")).Select(f => "en-US/" + f).Append("UsbRedir.format.ps1xml");
        foreach (var file in files)
            Assert.True(File.ReadAllBytes(RepoPaths.Combine(file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(PublishedModule.Folder, file))),
                $"{file} in the published module differs from the source; rebuild (dotnet build) after changing it");
    }
}
