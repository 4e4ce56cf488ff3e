namespace UsbRedir.Fuzz;

/// <summary>
/// A directory for targets that need files (the disk images, a sysfs tree): in memory (/dev/shm) where there is one,
/// so the disk's flushes cost nothing, or under $USBREDIR_FUZZ_SCRATCH (fuzz/run points it into its work directory and
/// removes it). One per process, removed when the process exits normally.
/// </summary>
internal static class FuzzScratch
{
    private static readonly Lazy<string> Path = new(Create);

    public static string Directory => Path.Value;

    private static string Create()
    {
        var root = Environment.GetEnvironmentVariable("USBREDIR_FUZZ_SCRATCH") is { Length: > 0 } scratch ? scratch
            : System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        var dir = System.IO.Path.Combine(root, $"usbredir-fuzz-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return dir;
    }
}
