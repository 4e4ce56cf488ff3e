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
/// (tests/Pester/UsedBy.Tests.ps1), the README's server example (tests/Pester/Readme.Tests.ps1), and a TLS link between
/// Start-UsbRedirServer and Connect-UsbDevice (tests/Pester/Tls.Tests.ps1). pwsh comes from the
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
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8) };
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
            "-drive", $"if=none,id=disk,format=raw,file={image}",
            "-device", "usb-storage,bus=ehci.0,drive=disk",
        ]);
        var result = GuestVm.Run(
            ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "pwsh-pester.sh"), VhciModuleBuild.Module, Pwsh.ReadyToRunPath,
             PublishedModule.Folder, shared, image],
            options);
        var xml = Path.Combine(shared, "pester-vm.xml");
        var cases = File.Exists(xml) ? XDocument.Load(xml).Descendants("testcase").ToList() : [];
        return new Run(result, cases);
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
