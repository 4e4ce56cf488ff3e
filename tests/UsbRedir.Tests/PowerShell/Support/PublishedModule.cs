using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>
/// The module exactly as users get it: `dotnet publish src/UsbRedir.PowerShell` (no build, the test run has
/// built it) into a folder under the test output, once per test run, or the folder `build.ps1 -Task Package` made
/// when USBREDIR_MODULE_FOLDER names it (`build.ps1 -Task Test`, hence tests/run). Its UsbRedir.dll is loaded into a
/// private load context so tests read cmdlet metadata from the shipped file.
/// </summary>
/// <remarks>
/// Why not a project reference: the CLI's assembly is called "usbredir" and assembly names are
/// case-insensitive, so the test project cannot reference both it and the module's "UsbRedir".
/// </remarks>
public static class PublishedModule
{
    private static readonly Lazy<string> FolderLazy = new(Publish);
    private static readonly Lazy<Assembly> AssemblyLazy = new(() => new ModuleLoadContext(Folder).LoadModule());
    private static readonly Lazy<IReadOnlyList<CmdletMetadata>> CmdletsLazy = new(() =>
        Assembly.GetExportedTypes().Select(CmdletMetadata.TryRead).OfType<CmdletMetadata>().OrderBy(c => c.Name).ToList());

    /// <summary>The published module folder (…/UsbRedir), importable with Import-Module.</summary>
    public static string Folder => FolderLazy.Value;

    /// <summary>UsbRedir.dll from <see cref="Folder"/>.</summary>
    public static Assembly Assembly => AssemblyLazy.Value;

    /// <summary>Every [Cmdlet] class in the module, read through CustomAttributeData.</summary>
    public static IReadOnlyList<CmdletMetadata> Cmdlets => CmdletsLazy.Value;

    /// <summary>Debug or Release: whatever this test assembly was built as, so publish finds that build.</summary>
    public static string Configuration =>
        typeof(PublishedModule).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private static string Publish()
    {
        if (Environment.GetEnvironmentVariable("USBREDIR_MODULE_FOLDER") is { Length: > 0 } packaged)
            return File.Exists(Path.Combine(packaged, "UsbRedir.psd1"))
                ? Path.GetFullPath(packaged)
                : throw new InvalidOperationException($"USBREDIR_MODULE_FOLDER={packaged} holds no UsbRedir.psd1. Fix: ./build.ps1 -Task Package, or unset it");
        var folder = Path.Combine(AppContext.BaseDirectory, "published-module", "UsbRedir");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in new[]
                 {
                     "publish", RepoPaths.Combine("src", "UsbRedir.PowerShell", "UsbRedir.PowerShell.csproj"),
                     "-c", Configuration, "--no-build", "-o", folder, "-nologo", "--disable-build-servers",
                 })
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish of the module failed ({process.ExitCode}):\n{stdout.Result}\n{stderr}");
        return folder;
    }

    /// <summary>Loads the module's own files; the engine and PowerShell's API come from the test process, as in pwsh.</summary>
    private sealed class ModuleLoadContext(string folder) : AssemblyLoadContext("UsbRedir module under test")
    {
        public Assembly LoadModule() => LoadFromAssemblyPath(Path.Combine(folder, "UsbRedir.dll"));

        protected override Assembly? Load(AssemblyName name)
        {
            // Shared with the default context so tests can pass engine objects and read SMA enums.
            if (name.Name is "UsbRedir.Core" or "System.Management.Automation")
                return null;
            var path = Path.Combine(folder, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
