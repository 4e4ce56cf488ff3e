using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>
/// Runs tests/Pester against the published module in the repository's pwsh 7.6 and Pester 5.7 (tests/install-pwsh);
/// any failed Pester test fails this test. Tests tagged Kernel need root and the usbredir_vhci module: they run in
/// real pwsh inside the VM instead (Vm/PwshVmTests).
/// </summary>
public class PesterSuiteTests
{
    [Fact]
    public void Pester_suite_passes_against_the_published_module()
    {
        var results = Path.Combine(AppContext.BaseDirectory, "pester-results.xml");
        var (exitCode, output) = Pwsh.Run(TimeSpan.FromMinutes(10),
            "-File", UsbRedir.Tests.Support.RepoPaths.Combine("tests", "Pester", "Invoke-UsbRedirPester.ps1"),
            "-ModulePath", PublishedModule.Folder, "-OutputPath", results, "-ExcludeTag", "Kernel");
        Assert.True(exitCode == 0, $"Pester failed (exit {exitCode}); results in {results}\n{output}");
        Assert.Matches(@"Tests Passed: [1-9]\d*, Failed: 0\b", StripAnsi(output));
    }

    internal static string StripAnsi(string text) => System.Text.RegularExpressions.Regex.Replace(text, "\x1b\\[[0-9;]*m", "");
}
