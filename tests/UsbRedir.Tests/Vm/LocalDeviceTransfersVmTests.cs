using System.Security.Cryptography;
using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// A real high-speed device forwarded locally by our exporter (<see cref="Devices.Local.LocalUsbDevice"/> over libusb) into
/// usbredir_vhci, our USB 2.0 controller, in one guest boot (tests/vm/scenarios/local-device-transfers.sh): qemu's
/// usb-storage on EHCI goes in with <c>usbredir plug ID --backend vhci-ctrl</c>, reads the same bytes there, and
/// usb-storage binds to the original again when the forward ends. (<see cref="LocalDeviceVmTests"/> has the SuperSpeed
/// disk refused by usbredir_vhci and the full-speed keyboard forwarded into it.)
/// </summary>
public sealed class LocalDeviceTransfersVmTests(ITestOutputHelper output)
{
    private static readonly Lazy<GuestRunResult> GuestRun = new(() =>
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-local-transfers-").FullName;
        var image = Ext2Image.Create(shared, "hs.img", "4M", ("known.bin", RandomNumberGenerator.GetBytes(1_000_000)));
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(5) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["ehci_pci", "usb_storage", "sd_mod"]);
        options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
        options.QemuArgs.AddRange([
            "-device", "usb-ehci,id=ehci",
            "-drive", $"if=none,id=hs,format=raw,file={image}",
            "-device", "usb-storage,bus=ehci.0,drive=hs",
        ]);
        return GuestVm.Run(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "local-device-transfers.sh"),
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), VhciModuleBuild.Module], options);
    });

    /// <summary>The disk is high speed on EHCI, reads the same bytes behind usbredir_vhci, and usb-storage returns to it.</summary>
    [VmFact]
    public void A_high_speed_disk_forwarded_into_usbredir_vhci_reads_the_same_bytes_and_usb_storage_returns_to_the_original()
    {
        GuestScenarioResults.AssertPassed(GuestRun.Value, output,
            "hs.high-speed-on-ehci", "hs.storage-bound", "hs.vhci-disk-appears", "hs.vhci-disk-gone", "hs.storage-reattached");
        var direct = Md5("hs-direct");
        Assert.Equal(direct, Md5("hs-vhci-ctrl"));
        Assert.Equal(direct, Md5("hs-direct-after"));
    }

    /// <summary>No hung task (hung_task_timeout_secs is 10 in the guest), no kernel problem, every check passed.</summary>
    [VmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log() =>
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value, output);

    private static string Md5(string path) => GuestScenarioResults.Md5(GuestRun.Value.Stdout, path);
}
