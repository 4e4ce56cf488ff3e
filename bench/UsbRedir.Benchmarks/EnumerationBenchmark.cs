using System.Diagnostics;
using UsbRedir.Devices.Local;

namespace UsbRedir.Benchmarks;

/// <summary>
/// Listing the USB devices (<see cref="UsbDeviceEnumerator.GetDevices"/>) of a sysfs tree of 104 devices, warm: the
/// captured fixture (tests/fixtures/sysfs/qemu-xhci, 13 devices on 4 buses) cloned onto 32 buses in a temporary
/// directory. Baseline: reading every regular attribute file of the same device and interface directories once, with
/// nothing parsed (what a sysfs walker that loads every attribute costs).
/// </summary>
internal sealed class EnumerationBenchmark : IBenchmark
{
    private const int Copies = 8;

    public string Name => "enumerate";

    public string Description => "usbredir list / Get-UsbDevice engine: list 104 devices of a sysfs tree vs reading its files";

    public int Run(BenchmarkOptions options)
    {
        var fixture = Path.Combine(FindRepoRoot(), "tests", "fixtures", "sysfs", "qemu-xhci", "sys");
        var root = Directory.CreateTempSubdirectory("usbredir-bench-sysfs-").FullName;
        try
        {
            var count = Build(fixture, root);
            var enumerator = new UsbDeviceEnumerator(root, UsbIds.Empty);
            var devices = enumerator.GetDevices();
            if (devices.Count != count)
                throw new InvalidOperationException($"listed {devices.Count} devices of {count}");
            var dirs = Directory.GetFileSystemEntries(Path.Combine(root, "bus", "usb", "devices"));
            Console.WriteLine($"{count} devices, {dirs.Length} sysfs entries (devices and interfaces), usb.ids not consulted");
            Console.WriteLine($"{"what",-34} {"ms per listing",14} {"listings/s",11}");
            double? best = null, bestFloor = null;
            for (var round = 0; round < options.Rounds; round++)
            {
                var ours = Measure(options, () => enumerator.GetDevices().Count);
                var floor = Measure(options, () => ReadAll(dirs));
                best = Math.Min(best ?? double.MaxValue, ours);
                bestFloor = Math.Min(bestFloor ?? double.MaxValue, floor);
            }
            Console.WriteLine($"{"GetDevices (ours)",-34} {best,14:F3} {1000 / best,11:F0}");
            Console.WriteLine($"{"read every attribute file once",-34} {bestFloor,14:F3} {1000 / bestFloor,11:F0}");
            Console.WriteLine($"ours/all-files: {best / bestFloor:F2}x");
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // Milliseconds per call, over at least options.Seconds after a warm-up.
    private static double Measure(BenchmarkOptions options, Func<int> work)
    {
        for (var i = 0; i < 20; i++)
            work();
        var sw = Stopwatch.StartNew();
        var n = 0;
        while (sw.Elapsed.TotalSeconds < options.Seconds)
        {
            work();
            n++;
        }
        return sw.Elapsed.TotalMilliseconds / n;
    }

    private static int ReadAll(string[] entries)
    {
        var total = 0;
        foreach (var entry in entries)
            foreach (var file in new DirectoryInfo(entry).EnumerateFiles())
                if (file.LinkTarget is null) // driver and port links dangle in a captured tree
                    total += File.ReadAllBytes(file.FullName).Length;
        return total;
    }

    // Clones the fixture's buses Copies times (bus b of copy k becomes bus 4k+b), flat under one fake controller per
    // bus: bus/usb/devices/NAME links to devices/ctrlB/usbB[/NAME], each controller with an xhci_hcd driver link.
    private static int Build(string fixture, string root)
    {
        var source = Path.Combine(fixture, "bus", "usb", "devices");
        var target = Path.Combine(root, "bus", "usb", "devices");
        Directory.CreateDirectory(target);
        var devices = 0;
        for (var copy = 0; copy < Copies; copy++)
        {
            foreach (var entry in Directory.GetFileSystemEntries(source))
            {
                var name = Path.GetFileName(entry);
                var bus = name.StartsWith("usb", StringComparison.Ordinal) ? int.Parse(name[3..]) : int.Parse(name[..name.IndexOf('-')]);
                var newBus = copy * 4 + bus;
                var newName = name.StartsWith("usb", StringComparison.Ordinal) ? $"usb{newBus}" : $"{newBus}{name[name.IndexOf('-')..]}";
                var controller = Path.Combine(root, "devices", $"ctrl{newBus}");
                var dir = name.StartsWith("usb", StringComparison.Ordinal) ? Path.Combine(controller, newName) : Path.Combine(controller, $"usb{newBus}", newName);
                Directory.CreateDirectory(dir);
                if (name.StartsWith("usb", StringComparison.Ordinal))
                    File.CreateSymbolicLink(Path.Combine(controller, "driver"), "../../bus/pci/drivers/xhci_hcd");
                foreach (var file in Directory.EnumerateFiles(entry))
                {
                    var info = new FileInfo(file);
                    if (info.LinkTarget is { } link)
                        File.CreateSymbolicLink(Path.Combine(dir, info.Name), link);
                    else
                        File.Copy(file, Path.Combine(dir, info.Name));
                }
                File.CreateSymbolicLink(Path.Combine(target, newName), Path.GetRelativePath(target, dir));
                if (!name.Contains(':'))
                    devices++;
            }
        }
        return devices;
    }

    private static string FindRepoRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "UsbRedir.slnx")))
                return dir;
        throw new InvalidOperationException("run from inside the repository (UsbRedir.slnx not found above the benchmark)");
    }
}
