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
            var flags = pkgConfigPackages.Length == 0 ? "" : ProcessRunner.Run("pkg-config", ["--cflags", "--libs", .. pkgConfigPackages]).Trim();
            var args = new List<string> { "-O2", "-Wall", "-Werror", "-o", exe, source };
            args.AddRange(flags.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            ProcessRunner.Run("gcc", args);
            return exe;
        }
    }

    /// <summary>
    /// Runs a line-oriented harness: writes each command as one stdin line and returns exactly one stdout line per
    /// command, failing the test when the harness exits non-zero (its stderr is in the message).
    /// </summary>
    public static IReadOnlyList<string> RunLines(string exe, IReadOnlyList<string> commands)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        // Feed stdin from another task so a full stdout pipe cannot deadlock us.
        var writer = Task.Run(() =>
        {
            try
            {
                foreach (var command in commands)
                    process.StandardInput.Write(command + "\n");
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The harness died; its exit code and stderr are reported below.
            }
        });
        var stderr = process.StandardError.ReadToEndAsync();
        var results = new List<string>(commands.Count);
        while (process.StandardOutput.ReadLine() is { } line)
            results.Add(line);
        writer.GetAwaiter().GetResult();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{Path.GetFileName(exe)} exited {process.ExitCode}: {stderr.Result}");
        Assert.Equal(commands.Count, results.Count);
        return results;
    }
}
