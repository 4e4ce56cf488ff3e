using System.Security.Cryptography;
using System.Text.RegularExpressions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Controllers.Usbip;

/// <summary>
/// The usbip backend against the real stock vhci_hcd of a Debian 6.1 guest, in one boot (tests/vm/scenarios/usbip-backend.sh):
/// the backend loads the module, the virtual disk enumerates, usb-storage binds, ext2 mounts, a known file reads back with
/// the right checksum and a new one survives unplug/replug; the keyboard's scripted keys arrive; unplug during I/O and
/// killing the user-space side mid-transfer and removing vhci_hcd with a disk attached under I/O leave no hung task and no BUG/WARNING in the console (run-vm scans it).
/// </summary>
public sealed class UsbipBackendVmTests(ITestOutputHelper output)
{
    [VmFact]
    public void Stock_vhci_hcd_runs_the_disk_and_keyboard_and_survives_faults()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-usbip-vm-").FullName;
        var content = RandomNumberGenerator.GetBytes(300_000);
        var image = Ext2Image.Create(shared, "stick.img", "32M", ("known.bin", content));
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(10), WorkingDirectory = shared }; // run-vm boots with no_timer_check
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod", "usbhid", "hid_generic", "evdev"]);
        // The throughput baseline: qemu's own usb-storage on its xHCI over a copy of the image.
        var baseline = Path.Combine(shared, "baseline.img");
        File.Copy(image, baseline);
        options.QemuArgs.AddRange([
            "-device", "qemu-xhci,id=xhci",
            "-drive", $"if=none,id=baseline,format=raw,readonly=on,file={baseline}",
            "-device", "usb-storage,bus=xhci.0,drive=baseline",
        ]);

        var run = GuestVm.Run(
            ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "usbip-backend.sh"), shared,
             Path.Combine(AppContext.BaseDirectory, "UsbRedir.VmPlug.dll"), image, VhciModuleBuild.Module],
            options);
        output.WriteLine(run.ToString());
        var vmplugLog = Path.Combine(shared, "vmplug.log");
        if (File.Exists(vmplugLog)) output.WriteLine("--- vmplug.log ---\n" + File.ReadAllText(vmplugLog));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(run.KernelProblem, run.ToString());
        var md5 = Convert.ToHexString(MD5.HashData(content)).ToLowerInvariant();
        Assert.Contains("step: unprivileged, no module: error VhciHcdLoadDenied: vhci_hcd is not loaded and this process may not load kernel modules.", run.Stdout);
        Assert.Contains("Run 'sudo modprobe vhci-hcd' once", run.Stdout);
        Assert.Contains("step: module loaded by the backend", run.Stdout);
        Assert.Contains("step: unprivileged plug: error VhciHcdAttachDenied: Writing /sys/devices/platform/vhci_hcd.0/attach was refused: Permission denied (errno 13).", run.Stdout);
        Assert.Contains($"step: known {md5}", run.Stdout);
        Assert.Contains("step: disk gone after unplug (vhci ports in use: 0)", run.Stdout);
        Assert.Contains("step: after replug written by the guest through vhci_hcd", run.Stdout);
        // u s b r e d i r space 4 2 enter, as evdev key codes
        Assert.Contains("step: keys: 22 31 48 19 18 32 23 19 57 5 3 28", run.Stdout);
        Assert.Contains("step: keyboard input device gone", run.Stdout);
        Assert.Matches(@"step: unplug during I/O: reader exit [1-9]\d*, vhci ports in use 0", run.Stdout);
        Assert.Matches(@"step: killed mid-transfer: reader exit [1-9]\d*, vhci ports in use 0", run.Stdout);
        Assert.Contains($"step: again {md5}", run.Stdout);
        Assert.Contains("ok controller usbredir_vhci", run.Stdout);
        Assert.Contains("step: quit unplugged everything (vhci ports in use: 0)", run.Stdout);
        Assert.Contains("ok controller vhci_hcd.0 backend Usbip", run.Stdout);
        // rmmod vhci_hcd with the disk attached under I/O: the kernel removes the module and tears the port down; our
        // side sees the link end (both slots Free), the reader ends, and the process still quits cleanly.
        Assert.Contains("step: rmmod vhci_hcd with a device attached: removed", run.Stdout);
        Assert.Matches(@"step: after rmmod: reader exit [1-9]\d*, vmplug ports 'ok 1:Free 2:Free', module loaded 0", run.Stdout);
        Assert.Contains("step: after rmmod quit: 'ok quit', vmplug exit 0", run.Stdout);
        Assert.Matches(@"ok plugged disk port 1 kernel-port \d+", run.Stdout);

        var console = File.ReadAllText(run.ConsoleLog);
        output.WriteLine("--- console, vhci lines ---\n" + string.Join("\n", console.Split('\n').Where(l => l.Contains("vhci"))));
        Assert.Contains("vhci_hcd vhci_hcd.0: USB/IP Virtual Host Controller", console);
        Assert.Contains("usb-storage", console);
        Assert.Contains("Product: UsbRedir", console);
        Assert.Equal("written by the guest through vhci_hcd\n", Ext2Image.ReadFile(image, "/from-guest.txt"));

        // Sequential read of 16 MiB of the disk (an image in guest RAM) through each path; TCG figures compare only with each other.
        var usbip = Throughput(run.Stdout, "usbip");
        var vhciCtrl = Throughput(run.Stdout, "vhci-ctrl");
        var qemu = Throughput(run.Stdout, "qemu-xhci");
        output.WriteLine($"sequential read MiB/s: usbip {usbip:F2}, vhci-ctrl {vhciCtrl:F2}, qemu-xhci {qemu:F2}; " +
                         $"usbip/vhci-ctrl {usbip / vhciCtrl:F2}, usbip/qemu-xhci {usbip / qemu:F2}");
        Directory.Delete(shared, recursive: true);
    }

    private static double Throughput(string stdout, string path)
    {
        var m = Regex.Match(stdout, $@"step: throughput {path} (\d+) bytes .* copied, ([\d.]+) s");
        Assert.True(m.Success, $"no {path} throughput figure in:\n{stdout}");
        Assert.Equal(16L * 1024 * 1024, long.Parse(m.Groups[1].Value));
        return long.Parse(m.Groups[1].Value) / 1048576.0 / double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
