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
            var flags = pkgConfigPackages.Length == 0 ? "" : HostCommand.Run("pkg-config", ["--cflags", "--libs", .. pkgConfigPackages]).Trim();
            var args = new List<string> { "-O2", "-Wall", "-Werror", "-o", exe, source };
            args.AddRange(flags.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            HostCommand.Run("gcc", args);
            return exe;
        }
    }
}
