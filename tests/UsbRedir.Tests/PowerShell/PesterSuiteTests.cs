using System.Diagnostics;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>Runs tests/Pester against the published module in a fresh pwsh, where one is installed.</summary>
public class PesterSuiteTests
{
    [PesterFact]
    public void Pester_suite_passes_against_the_published_module()
    {
        var results = Path.Combine(AppContext.BaseDirectory, "pester-results.xml");
        var psi = new ProcessStartInfo("pwsh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in new[]
                 {
                     "-NoProfile", "-NonInteractive", "-File", RepoPaths.Combine("tests", "Pester", "Invoke-UsbRedirPester.ps1"),
                     "-ModulePath", PublishedModule.Folder, "-OutputPath", results,
                 })
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"Pester did not finish in 10 minutes:\n{stdout}");
        }
        Assert.True(process.ExitCode == 0, $"Pester failed (exit {process.ExitCode}); results in {results}\n{stdout}\n{stderr.Result}");
    }
}
