using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// Builds kernel/usbredir_vhci.ko from the repository's sources against the guest kernel's headers
/// (Debian's 6.1, discovered, never the host's running kernel) and the C ABI test program, once per
/// test run, into the test output folder (the guest sees it through the read-only host root).
/// </summary>
public static class VhciModuleBuild
{
    private static readonly Lazy<(string Module, string TestProgram)> Built = new(BuildAll);

    /// <summary>Path of the built usbredir_vhci.ko.</summary>
    public static string Module => Built.Value.Module;

    /// <summary>Path of the built kernel/tests/vhci_test.</summary>
    public static string TestProgram => Built.Value.TestProgram;

    public static string KernelDir => RepoPaths.Combine("kernel");

    private static (string, string) BuildAll()
    {
        var kdir = GuestVm.KernelBuildDir
            ?? throw new InvalidOperationException("No /lib/modules/6.1.*/build: install linux-headers-amd64 (Debian 12).");
        var outDir = Path.Combine(AppContext.BaseDirectory, "kmod");
        if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        Directory.CreateDirectory(Path.Combine(outDir, "uapi"));
        // Kbuild writes next to its sources, so build a copy: the source tree stays clean and parallel
        // worktrees never share objects.
        foreach (var f in new[] { "usbredir_vhci.c", "Kbuild", Path.Combine("uapi", "usbredir_vhci.h") })
            File.Copy(Path.Combine(KernelDir, f), Path.Combine(outDir, f));
        HostCommand.Run("make", "-C", kdir, $"M={outDir}", "modules");
        var ko = Path.Combine(outDir, "usbredir_vhci.ko");
        if (!File.Exists(ko)) throw new InvalidOperationException($"kbuild produced no {ko}");

        var test = Path.Combine(outDir, "vhci_test");
        HostCommand.Run("gcc", "-O2", "-Wall", "-Werror", "-I", Path.Combine(KernelDir, "tests"), "-o", test,
            Path.Combine(KernelDir, "tests", "vhci_test.c"));
        return (ko, test);
    }
}
