using System.Diagnostics;
using System.Text.RegularExpressions;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>
/// The repository's own PowerShell and Pester, which tests/install-pwsh restores into .tools/ (tests/run runs it
/// first): pwsh is the dotnet tool pinned in .config/dotnet-tools.json, started through its apphost (the tool's
/// own process would otherwise be `dotnet`), Pester the package restored by tests/tools/Pester.Download.csproj.
/// </summary>
public static partial class Pwsh
{
    private static readonly Lazy<(string Version, string Path)> Installed = new(Locate);

    /// <summary>The pwsh apphost; a test that needs it fails (never skips) when it is not installed.</summary>
    public static string Path => Installed.Value.Path;

    /// <summary>
    /// The same pwsh with its main assemblies precompiled (tests/install-pwsh: .tools/pwsh-r2r), for the VM tests:
    /// under TCG, JIT-compiling PowerShell and Pester is most of a guest run that starts pwsh.
    /// </summary>
    public static string ReadyToRunPath
    {
        get
        {
            var path = RepoPaths.Combine(".tools", "pwsh-r2r", Installed.Value.Version, "pwsh");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"No precompiled pwsh at {path}. Fix: run tests/install-pwsh (tests/run does)");
        }
    }

    /// <summary>Runs <paramref name="arguments"/> in a fresh pwsh (-NoProfile -NonInteractive) to completion.</summary>
    public static (int ExitCode, string Output) Run(TimeSpan timeout, params string[] arguments)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in new[] { "-NoProfile", "-NonInteractive" }.Concat(arguments))
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"pwsh did not finish in {timeout}:\n{stdout.Result}\n{stderr.Result}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static (string, string) Locate()
    {
        var manifest = File.ReadAllText(RepoPaths.Combine(".config", "dotnet-tools.json"));
        var version = ToolVersion().Match(manifest) is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException(".config/dotnet-tools.json names no powershell tool version");
        var path = RepoPaths.Combine(".tools", "packages", "powershell", version, "tools", "net10.0", "any", OperatingSystem.IsWindows() ? "win" : "unix",
            OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        if (!File.Exists(path))
            throw new InvalidOperationException($"pwsh {version} is not installed at {path}. Fix: run tests/install-pwsh (tests/run does), "
                                                + "which restores it and Pester into .tools/ from the NuGet registry");
        return (version, path);
    }

    [GeneratedRegex("\"powershell\"\\s*:\\s*\\{[^}]*\"version\"\\s*:\\s*\"([^\"]+)\"")]
    private static partial Regex ToolVersion();
}
