using UsbRedir.Tests.Support;

namespace UsbRedir.Benchmarks;

/// <summary>
/// The C baselines under native/: compiled with gcc against the system's libusbredirparser on first use (or when the
/// source is newer), then run as separate processes on the same input the C# side measures.
/// </summary>
internal static class NativeBaseline
{
    /// <summary>Builds native/<paramref name="source"/> and returns the executable, or throws naming what is missing.</summary>
    public static string Build(string source, params string[] pkgConfigPackages)
    {
        var src = Path.Combine(AppContext.BaseDirectory, "native", source);
        var exe = Path.Combine(AppContext.BaseDirectory, "native", Path.GetFileNameWithoutExtension(source));
        if (File.Exists(exe) && File.GetLastWriteTimeUtc(exe) >= File.GetLastWriteTimeUtc(src))
            return exe;
        string flags;
        try
        {
            flags = ProcessRunner.Run("pkg-config", ["--cflags", "--libs", .. pkgConfigPackages]).Trim();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException(
                $"The C baseline needs gcc, pkg-config and {string.Join(", ", pkgConfigPackages)} (Debian: apt-get install gcc pkg-config libusbredirparser-dev): {e.Message}");
        }
        ProcessRunner.Run("gcc", ["-O2", "-Wall", "-Werror", "-o", exe, src, .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        return exe;
    }
}
