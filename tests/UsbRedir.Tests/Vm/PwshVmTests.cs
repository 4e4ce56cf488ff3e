using System.Security.Cryptography;
using System.Xml.Linq;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// The Pester tests tagged Kernel, in real pwsh 7.6 as root inside a Debian 6.1 guest, one boot
/// (tests/vm/scenarios/pwsh-pester.sh): the controller and server cmdlets with usbredir_vhci.ko loaded
/// (tests/Pester/Controllers.Tests.ps1), and the module's used-by lines on a QEMU-emulated usb-storage disk
/// (tests/Pester/UsedBy.Tests.ps1: the used-by lines, and the issue's Get-UsbDevice | Connect-UsbDevice pipeline with the
/// disk removed and added again through QMP on the test's request), the README's server example
/// (tests/Pester/Readme.Tests.ps1), and a TLS link between Start-UsbRedirServer and Connect-UsbDevice
/// (tests/Pester/Tls.Tests.ps1). pwsh comes from the
/// repository's .tools (tests/install-pwsh; its precompiled copy, see <see cref="Pwsh.ReadyToRunPath"/>) through the host
/// root share; each fact reads its tests' results from Pester's JUnit XML.
/// </summary>
public sealed class PwshVmTests(ITestOutputHelper output)
{
    /// <summary>Size of the emulated disk's image, random bytes the pushed disk must show.</summary>
    public const int DiskBytes = 4 << 20;

    private static readonly Lazy<Run> GuestRun = new(RunInGuest);

    private sealed record Run(GuestRunResult Result, IReadOnlyList<XElement> TestCases);

    private static Run RunInGuest()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-pwsh-vm-").FullName;
        var image = Path.Combine(shared, "disk.img");
        File.WriteAllBytes(image, RandomNumberGenerator.GetBytes(DiskBytes));
        var qmpPath = Path.Combine(shared, "qmp.sock");
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(12) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["ehci_pci", "usb_storage", "sd_mod", "usbhid", "hid_generic"]);
        // pwsh's start-up JIT under TCG: tiered PGO costs more than it saves in a run this short.
        options.Environment["DOTNET_TieredPGO"] = "0";
        options.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        options.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        options.QemuArgs.AddRange([
            // A high-speed disk (EHCI), as most USB sticks are: QEMU's usb-storage on an xHCI comes up SuperSpeed, which
            // our usbredir_vhci (USB 2.0, the Auto backend while /dev/vhci-ctrl exists) refuses (README, "SuperSpeed").
            "-device", "usb-ehci,id=ehci",
            // -blockdev, not -drive: a -drive's backend is deleted with its device, and the host adds the disk again.
            "-blockdev", $"driver=raw,node-name=disk,file.driver=file,file.filename={image}",
            "-device", $"{DiskDevice},port=1",
            .. QmpClient.QemuArgs(qmpPath),
        ]);
        string[] command = ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "pwsh-pester.sh"), VhciModuleBuild.Module, Pwsh.ReadyToRunPath,
            PublishedModule.Folder, shared, image];
        var guest = GuestVm.RunAsync(command, options);
        var actions = ReplugOnRequestAsync(shared, qmpPath, guest).GetAwaiter().GetResult();
        var result = guest.GetAwaiter().GetResult();
        result = result with { Stdout = result.Stdout + actions };
        var xml = Path.Combine(shared, "pester-vm.xml");
        var cases = File.Exists(xml) ? XDocument.Load(xml).Descendants("testcase").ToList() : [];
        return new Run(result, cases);
    }

    private const string DiskDevice = "usb-storage,bus=ehci.0,drive=disk,id=disk-dev";

    /// <summary>
    /// Removes the disk (QMP device_del) and adds it again at the same port (device_add: the same busid and serial number, as
    /// a stick pulled and put back) when the guest's test asks by creating "unplug" and then "plug-in" in the shared folder.
    /// </summary>
    private static async Task<string> ReplugOnRequestAsync(string shared, string qmpPath, Task guest)
    {
        var log = new System.Text.StringBuilder();
        await using var qmp = await QmpClient.ConnectAsync(qmpPath, guest);
        if (await LocalDeviceVmTests.WaitForFileAsync(shared, "unplug", guest))
        {
            await qmp.ExecuteAsync("device_del", new { id = "disk-dev" });
            log.AppendLine("INFO host: device_del disk-dev");
        }
        if (await LocalDeviceVmTests.WaitForFileAsync(shared, "plug-in", guest))
        {
            await qmp.ExecuteAsync("device_add", new { driver = "usb-storage", bus = "ehci.0", drive = "disk", id = "disk-dev", port = "1" });
            log.AppendLine("INFO host: device_add disk-dev at port 1");
        }
        return log.ToString();
    }

    private void AssertPassed(string describe, int atLeast)
    {
        var run = GuestRun.Value;
        foreach (var line in run.Result.Stdout.Split('\n').Where(l => l.StartsWith("INFO ", StringComparison.Ordinal)))
            output.WriteLine(line);
        var cases = run.TestCases.Where(c => ((string?)c.Attribute("name") ?? "").StartsWith(describe + ".", StringComparison.Ordinal)).ToList();
        Assert.True(cases.Count >= atLeast, $"{cases.Count} Pester tests under '{describe}' ran in the guest, expected {atLeast}\n{run.Result}");
        var notPassed = cases.Where(c => (string?)c.Attribute("status") != "Passed")
            .Select(c => $"{c.Attribute("name")?.Value}: {c.Attribute("status")?.Value} {c.Value}").ToList();
        Assert.True(notPassed.Count == 0, $"{string.Join("\n", notPassed)}\n\n{run.Result}");
    }

    [VmFact]
    public void Controller_and_server_cmdlets_run_against_usbredir_vhci_in_real_pwsh() =>
        AssertPassed("Controllers and servers with the usbredir_vhci module", 5);

    [VmFact]
    public void Readme_server_example_runs_as_written_in_real_pwsh() => AssertPassed("README server example", 1);

    [VmFact]
    public void Start_UsbRedirServer_and_Connect_UsbDevice_link_over_TLS_in_real_pwsh() =>
        AssertPassed("TLS between Start-UsbRedirServer and Connect-UsbDevice", 2);

    [UsedByFact]
    public void Used_by_lines_push_a_real_usb_disk_through_a_server_into_a_controller() =>
        AssertPassed("The used-by lines on a real USB disk", 1);

    /// <summary>
    /// Get-UsbDevice -VendorId 46f4 | Connect-UsbDevice -Server (by property name) with the real disk into a server in the
    /// same guest: the same bytes through the forward; removed and added again (QMP), Get-UsbRedirConnection shows
    /// WaitingForDevice, then Connected with the disk back; the end gives the disk back to usb-storage.
    /// </summary>
    [UsedByFact]
    public void The_issues_pipeline_pushes_a_real_disk_re_attaches_it_and_gives_it_back() =>
        AssertPassed("The issue's pipeline on a real USB disk", 1);

    [VmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log() =>
        GuestScenarioResults.AssertSucceededCleanly(GuestRun.Value.Result, output);
}

/// <summary>
/// A VM fact for the used-by lines: they need Get-UsbDevice (issue 10) and Connect-UsbDevice &lt;id&gt; for real devices
/// (issue 11); until the module has both the test says it waits for them.
/// </summary>
public sealed class UsedByFactAttribute : FactAttribute
{
    public UsedByFactAttribute()
    {
        // The manifest lists the exported cmdlets, and the help source every parameter (HelpTests hold both to the code).
        var manifest = Psd1Reader.Read(RepoPaths.Combine("UsbRedir.psd1"));
        var enumerates = manifest.TryGetValue("CmdletsToExport", out var exported) && exported is IEnumerable<object> names && names.Contains("Get-UsbDevice");
        var connectsById = File.ReadAllText(RepoPaths.Combine("docs", "help", "Connect-UsbDevice.md")).Contains("\n### -Id\n", StringComparison.Ordinal);
        if (enumerates && connectsById)
        {
            var missing = GuestVm.Missing;
            Skip = Peers.SkipUnless(missing is null, missing ?? "");
        }
        else
        {
            Skip = "SKIPPED: waits for " + (enumerates ? "" : "Get-UsbDevice (issue 10) and ")
                   + "Connect-UsbDevice <id> for real devices (issue 11); runs as soon as the module has both";
        }
    }
}
