using System.Diagnostics;

namespace UsbRedir.Tests.Support;

/// <summary>
/// Builds the small C programs under tests/interop with gcc (once per test run, when the source is
/// newer than the binary) so tests can drive the real C libraries as peers.
/// </summary>
public static class NativeHarness
{
    private static readonly object Gate = new();

    /// <summary>Compiles tests/interop/<paramref name="sourceName"/> against the pkg-config packages and returns the executable's path.</summary>
    public static string Build(string sourceName, params string[] pkgConfigPackages)
    {
        var source = RepoPaths.Combine("tests", "interop", sourceName);
        var outDir = Path.Combine(AppContext.BaseDirectory, "native");
        var exe = Path.Combine(outDir, Path.GetFileNameWithoutExtension(sourceName));
        lock (Gate)
        {
            if (File.Exists(exe) && File.GetLastWriteTimeUtc(exe) >= File.GetLastWriteTimeUtc(source))
                return exe;
            Directory.CreateDirectory(outDir);
            var flags = pkgConfigPackages.Length == 0 ? "" : Run("pkg-config", ["--cflags", "--libs", .. pkgConfigPackages]).Trim();
            var args = new List<string> { "-O2", "-Wall", "-Werror", "-o", exe, source };
            args.AddRange(flags.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Run("gcc", args);
            return exe;
        }
    }

    private static string Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', psi.ArgumentList)} failed ({p.ExitCode}):\n{stderr}");
        return stdout.Result;
    }
}
