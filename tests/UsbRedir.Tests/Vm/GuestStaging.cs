using System.Collections.Concurrent;
using System.Text.Json;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// What a guest test runs as an unprivileged user (setpriv nobody) must be readable by that user all the way down,
/// but the repository may sit in a private folder (a clone under a 0700 home or `mktemp -d`), where the guest's
/// nobody cannot even traverse to the test output (the host root share keeps the host's modes). This copies a
/// built program (its dll, runtimeconfig, deps.json and the project assemblies that deps.json lists) into a fresh
/// world-readable folder under the temp directory, once per test run.
/// </summary>
public static class GuestStaging
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> Staged = new();

    /// <summary>The staged copy of <paramref name="entryDll"/> (e.g. the test output's UsbRedir.Cli.dll).</summary>
    public static string ReadableCopy(string entryDll) =>
        Staged.GetOrAdd(Path.GetFullPath(entryDll), path => new Lazy<string>(() => Stage(path))).Value;

    private static string Stage(string entryDll)
    {
        var from = Path.GetDirectoryName(entryDll)!;
        var name = Path.GetFileNameWithoutExtension(entryDll);
        if (OperatingSystem.IsWindows())
            return entryDll; // no guest runs there
        var to = Directory.CreateTempSubdirectory($"usbredir-{name.ToLowerInvariant()}-").FullName;
        const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(to, Readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var files = new HashSet<string>(StringComparer.Ordinal) { $"{name}.dll", $"{name}.runtimeconfig.json", $"{name}.deps.json" };
        using (var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(from, $"{name}.deps.json"))))
        {
            foreach (var target in deps.RootElement.GetProperty("targets").EnumerateObject())
            foreach (var library in target.Value.EnumerateObject())
                if (library.Value.TryGetProperty("runtime", out var runtime))
                    foreach (var file in runtime.EnumerateObject())
                        files.Add(file.Name);
        }
        foreach (var file in files)
        {
            var source = Path.Combine(from, file);
            if (!File.Exists(source))
                throw new FileNotFoundException($"{name}.deps.json lists {file}, which is not in {from}. Fix: rebuild the tests (dotnet build UsbRedir.slnx)", source);
            var copy = Path.Combine(to, file);
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(source, copy);
            File.SetUnixFileMode(copy, Readable);
        }
        return Path.Combine(to, $"{name}.dll");
    }
}
