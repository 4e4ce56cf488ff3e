using System.Security.Cryptography;
using System.Text.RegularExpressions;
using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// The vhci-ctrl controller backend for real, in one guest boot (tests/vm/scenarios/vhci-plug.sh): the built
/// `usbredir plug` CLI plugs the virtual disk and keyboard into usbredir_vhci.ko; the guest kernel enumerates them,
/// usb-storage and usbhid bind, the filesystem mounts and reads back, a written file survives unplug/replug and lands
/// in the image, scripted keys arrive; unplug during I/O, SIGKILL mid-transfer and rmmod with a device attached leave
/// no hung task and a clean kernel log. Also measures sequential read throughput against qemu's own usb-storage.
/// </summary>
public sealed class VhciCtrlBackendVmTests(ITestOutputHelper output)
{
    /// <summary>MiB read sequentially from each disk for the throughput figures.</summary>
    public const int ReadMiB = 32;

    private static readonly Lazy<Run> GuestRun = new(RunInGuest);

    private sealed record Run(GuestRunResult Result, string Image);

    private static Run RunInGuest()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-vhci-plug-").FullName;
        var known = RandomNumberGenerator.GetBytes(3_000_000);
        var image = Ext2Image.Create(shared, "stick.img", "64M", ("known.bin", known));
        // The baseline disk: the same bytes behind qemu's emulated usb-storage, read-only.
        var baseline = Path.Combine(shared, "baseline.img");
        File.Copy(image, baseline);

        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(10) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod", "usbhid", "hid_generic", "evdev"]);
        options.QemuArgs.AddRange([
            "-device", "qemu-xhci,id=xhci",
            "-drive", $"if=none,id=baseline,format=raw,readonly=on,file={baseline}",
            "-device", "usb-storage,bus=xhci.0,drive=baseline",
        ]);
        var result = GuestVm.Run(
            ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "vhci-plug.sh"), VhciModuleBuild.Module,
             // The scenario also runs it as nobody, who may not reach the test output (a clone in a private folder).
             GuestStaging.ReadableCopy(Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll")), shared,
             Convert.ToHexString(SHA256.HashData(known)).ToLowerInvariant(), ReadMiB.ToString()],
            options);
        return new Run(result, image);
    }

    private void AssertPassed(params string[] names) => GuestScenarioResults.AssertPassed(GuestRun.Value.Result, output, names);

    [VmFact]
    public void Virtual_disk_enumerates_binds_usb_storage_mounts_and_reads_back()
    {
        AssertPassed("disk.plugged", "disk.enumerated", "disk.usb-storage-bound", "disk.mounted", "disk.checksum", "disk.write");
        var console = File.ReadAllText(GuestRun.Value.Result.ConsoleLog);
        Assert.Contains("new high-speed USB device number 2 using usbredir_vhci", console);
        Assert.Contains("Product: UsbRedir", console);
    }

    [VmFact]
    public void A_written_file_survives_unplug_and_replug_and_is_in_the_image_afterwards()
    {
        AssertPassed("disk.unplug-clean", "disk.replug-file-survives");
        Assert.Equal("written by the guest through vhci-ctrl\n", Ext2Image.ReadFile(GuestRun.Value.Image, "/from-guest.txt"));
    }

    [VmFact]
    public void Keyboard_becomes_an_input_device_and_scripted_keys_arrive() =>
        AssertPassed("keyboard.plugged", "keyboard.input-device", "keyboard.keys-arrive", "keyboard.unplug-clean");

    [VmFact]
    public void Unplug_during_io_kill_mid_transfer_and_rmmod_with_a_device_leave_nothing_hanging() =>
        AssertPassed("fault.unplug-during-io", "fault.kill-mid-transfer", "fault.rmmod-refused-with-device",
            "fault.device-survives-rmmod", "module.rmmod-after-unplug");

    [VmFact]
    public void Without_privileges_plug_says_which_and_how_to_fix_it() => AssertPassed("errors.no-privileges");

    [VmFact]
    public void Sequential_read_throughput_is_measured_against_qemus_own_usb_storage()
    {
        AssertPassed("throughput.vhci-ctrl", "throughput.qemu-usb-storage");
        var ours = Throughput(GuestRun.Value.Result.Stdout, "vhci-ctrl");
        var baseline = Throughput(GuestRun.Value.Result.Stdout, "qemu-usb-storage");
        // A figure, not a pass mark (TCG speed depends on the host): recorded in docs/benchmarks.md.
        output.WriteLine($"sequential read, {ReadMiB} MiB, O_DIRECT 1 MiB: vhci-ctrl {ours:F1} MB/s, qemu usb-storage {baseline:F1} MB/s, ratio {ours / baseline:F2}");
    }

    [VmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log() =>
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value.Result, output);

    /// <summary>dd's "copied, S s, R MB/s" figure for one disk, recomputed from bytes and seconds (dd rounds and picks units).</summary>
    private static double Throughput(string stdout, string disk)
    {
        var m = Regex.Match(stdout, $@"^INFO throughput\.{Regex.Escape(disk)} (\d+) bytes .* copied, ([\d.]+) s", RegexOptions.Multiline);
        Assert.True(m.Success, $"no throughput line for {disk}:\n{stdout}");
        return double.Parse(m.Groups[1].Value) / 1e6 / double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
