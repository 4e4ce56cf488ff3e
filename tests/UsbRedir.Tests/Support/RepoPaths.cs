namespace UsbRedir.Tests.Support;

/// <summary>Locates files of the source tree from the test output folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "UsbRedir.slnx")))
                return dir.FullName;
        throw new InvalidOperationException($"No UsbRedir.slnx above {AppContext.BaseDirectory}");
    });

    /// <summary>The repository root (the folder holding UsbRedir.slnx).</summary>
    public static string Root => RootLazy.Value;

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);
}
