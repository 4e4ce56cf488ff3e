using System.Diagnostics;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Vm;

/// <summary>What to give a guest run besides its command (see tests/vm/run-vm -h).</summary>
public sealed class GuestRunOptions
{
    /// <summary>Host directories shared read-write at the same path in the guest (the first one also gets console.log).</summary>
    public List<string> ReadWriteDirs { get; } = [];

    /// <summary>Environment of the command (the guest starts from an empty environment).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Modules to modprobe before the command.</summary>
    public List<string> Modules { get; } = [];

    /// <summary>Extra qemu arguments, verbatim: e.g. "-device", "qemu-xhci,id=xhci".</summary>
    public List<string> QemuArgs { get; } = [];

    /// <summary>virtio-serial ports where qemu listens on 127.0.0.1:port (guest: /dev/virtio-ports/name).</summary>
    public List<(int Port, string Name)> SerialServers { get; } = [];

    /// <summary>virtio-serial ports where qemu connects out to 127.0.0.1:port and reconnects.</summary>
    public List<(int Port, string Name)> SerialClients { get; } = [];

    /// <summary>Working directory of the command in the guest (default: the test's current directory).</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Extra kernel command line.</summary>
    public string? KernelArgs { get; set; }

    /// <summary>Whole-run limit, boot included; run-vm kills the guest and returns 124 after it.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>The outcome of one guest run.</summary>
public sealed record GuestRunResult(int ExitCode, string Stdout, string Stderr, string ConsoleLog, TimeSpan Elapsed)
{
    /// <summary>run-vm found BUG/WARNING/Oops/lockdep/hung task/GPF reports in the guest kernel log.</summary>
    public bool KernelProblem => Stderr.Contains("run-vm: KERNEL PROBLEM", StringComparison.Ordinal);

    public bool TimedOut => ExitCode == 124 && Stderr.Contains("run-vm: TIMEOUT", StringComparison.Ordinal);

    /// <summary>Everything, for assertion messages.</summary>
    public override string ToString() =>
        $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs commands in a qemu (TCG) guest booting Debian's 6.1 kernel with the host root shared read-only,
/// through tests/vm/run-vm. Only one guest runs at a time in the whole test process: the CI host has
/// two cores and TCG wants one thread per vCPU.
/// </summary>
public static class GuestVm
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    /// <summary>The newest installed Debian 6.1 kernel ("6.1.0-56-amd64"), or null.</summary>
    public static string? KernelVersion { get; } = FindKernel();

    /// <summary>Kernel headers for building modules against the guest kernel, or null.</summary>
    public static string? KernelBuildDir =>
        KernelVersion is { } v && Directory.Exists($"/lib/modules/{v}/build") ? $"/lib/modules/{v}/build" : null;

    /// <summary>Null when guests can run here; else what is missing.</summary>
    public static string? Missing
    {
        get
        {
            var missing = new List<string>();
            if (!Peers.HasCommand("qemu-system-x86_64")) missing.Add("qemu-system-x86");
            if (KernelVersion is null) missing.Add("linux-image-amd64 (a Debian 6.1 kernel in /boot)");
            else if (KernelBuildDir is null) missing.Add("linux-headers-amd64");
            if (!File.Exists("/bin/busybox")) missing.Add("busybox-static");
            if (!Peers.HasCommand("gcc") || !Peers.HasCommand("make")) missing.Add("gcc make");
            if (!Peers.HasCommand("cpio")) missing.Add("cpio");
            return missing.Count == 0 ? null : string.Join(", ", missing);
        }
    }

    public static string RunVmScript => RepoPaths.Combine("tests", "vm", "run-vm");

    /// <summary>Boots a guest, runs <paramref name="command"/> in it and returns once the guest is off.</summary>
    public static GuestRunResult Run(IReadOnlyList<string> command, GuestRunOptions? options = null) =>
        RunAsync(command, options).GetAwaiter().GetResult();

    /// <summary>
    /// As <see cref="Run"/>, holding no thread while it waits for its turn and for the guest: the tests that stream in real
    /// time beside a guest share the thread pool with every test waiting for one (see <see cref="Support.TestThreadPool"/>).
    /// </summary>
    public static async Task<GuestRunResult> RunAsync(IReadOnlyList<string> command, GuestRunOptions? options = null)
    {
        options ??= new GuestRunOptions();
        var psi = new ProcessStartInfo(RunVmScript)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = RepoPaths.Root,
        };
        var a = psi.ArgumentList;
        foreach (var dir in options.ReadWriteDirs) { a.Add("-w"); a.Add(dir); }
        foreach (var (k, v) in options.Environment) { a.Add("-e"); a.Add($"{k}={v}"); }
        foreach (var m in options.Modules) { a.Add("-m"); a.Add(m); }
        foreach (var q in options.QemuArgs) { a.Add("-Q"); a.Add(q); }
        foreach (var (port, name) in options.SerialServers) { a.Add("-S"); a.Add($"{port}:{name}"); }
        foreach (var (port, name) in options.SerialClients) { a.Add("-T"); a.Add($"{port}:{name}"); }
        if (options.KernelArgs is { } ka) { a.Add("-K"); a.Add(ka); }
        if (KernelVersion is { } kv) { a.Add("-k"); a.Add(kv); }
        a.Add("-C"); a.Add(options.WorkingDirectory ?? Environment.CurrentDirectory);
        a.Add("-t"); a.Add(((int)Math.Ceiling(options.Timeout.TotalSeconds)).ToString());
        a.Add("--");
        foreach (var c in command) a.Add(c);

        await OneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            // run-vm enforces the timeout itself (from when it holds the machine-wide guest lock);
            // this only guards against the script hanging, so it allows for waiting on that lock.
            using (var hung = new CancellationTokenSource(options.Timeout * 3 + TimeSpan.FromMinutes(10)))
            {
                try
                {
                    await p.WaitForExitAsync(hung.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    p.Kill(entireProcessTree: true);
                }
            }
            await p.WaitForExitAsync().ConfigureAwait(false);
            var err = await stderr.ConfigureAwait(false);
            return new GuestRunResult(p.ExitCode, await stdout.ConfigureAwait(false), err, ConsoleLogPath(err), sw.Elapsed);
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    private static string ConsoleLogPath(string stderr)
    {
        const string marker = "console log: ";
        var i = stderr.LastIndexOf(marker, StringComparison.Ordinal);
        return i < 0 ? "" : stderr[(i + marker.Length)..].Split('\n')[0].Trim();
    }

    private static string? FindKernel() =>
        Directory.Exists("/boot")
            ? Directory.GetFiles("/boot", "vmlinuz-6.1.*-amd64")
                .Select(f => Path.GetFileName(f)["vmlinuz-".Length..])
                .Where(v => Directory.Exists($"/lib/modules/{v}/kernel"))
                .OrderBy(v => v, Comparer<string>.Create(CompareVersions))
                .LastOrDefault()
            : null;

    // "6.1.0-56-amd64" vs "6.1.0-9-amd64": compare the numeric runs as numbers.
    private static int CompareVersions(string x, string y)
    {
        var xs = x.Split('.', '-');
        var ys = y.Split('.', '-');
        for (var i = 0; i < Math.Min(xs.Length, ys.Length); i++)
        {
            var c = int.TryParse(xs[i], out var xi) && int.TryParse(ys[i], out var yi)
                ? xi.CompareTo(yi)
                : string.CompareOrdinal(xs[i], ys[i]);
            if (c != 0) return c;
        }
        return xs.Length.CompareTo(ys.Length);
    }
}

/// <summary>
/// A fact that boots a qemu guest: skipped only when qemu or Debian's 6.1 kernel/headers are absent
/// and tests/run did not demand every peer (USBREDIR_REQUIRE_PEERS=1).
/// </summary>
public sealed class VmFactAttribute : FactAttribute
{
    public VmFactAttribute()
    {
        var missing = GuestVm.Missing;
        Skip = Peers.SkipUnless(missing is null, missing ?? "");
    }
}
