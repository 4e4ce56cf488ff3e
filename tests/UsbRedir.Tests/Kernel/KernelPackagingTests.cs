using System.Diagnostics;
using System.Text.RegularExpressions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;

namespace UsbRedir.Tests.Kernel;

/// <summary>A fact that needs dkms and the guest kernel's headers; skipped only outside tests/run.</summary>
public sealed class DkmsFactAttribute : FactAttribute
{
    public DkmsFactAttribute() =>
        Skip = Peers.SkipUnless(Peers.HasCommand("dkms") && GuestVm.KernelBuildDir is not null, "dkms and linux-headers-amd64");
}

/// <summary>How kernel/ is packaged: DKMS builds it for a given kernel, versions agree, a wrong KDIR is explained.</summary>
public sealed class KernelPackagingTests
{
    private static readonly string[] SourceFiles = ["usbredir_vhci.c", "Kbuild", "Makefile", "dkms.conf", "uapi/usbredir_vhci.h"];

    [Fact]
    public void Dkms_module_and_project_versions_agree()
    {
        var dkms = File.ReadAllText(RepoPaths.Combine("kernel", "dkms.conf"));
        var source = File.ReadAllText(RepoPaths.Combine("kernel", "usbredir_vhci.c"));
        var manifest = File.ReadAllText(RepoPaths.Combine("UsbRedir.psd1"));

        var project = Regex.Match(manifest, @"\bModuleVersion\s*=\s*'([^']+)'").Groups[1].Value;
        Assert.NotEmpty(project);
        Assert.Equal(project, Regex.Match(dkms, "^PACKAGE_VERSION=\"([^\"]+)\"", RegexOptions.Multiline).Groups[1].Value);
        Assert.Equal(project, Regex.Match(source, "MODULE_VERSION\\(\"([^\"]+)\"\\)").Groups[1].Value);
        Assert.Matches("(?m)^BUILT_MODULE_NAME\\[0\\]=\"usbredir_vhci\"$", dkms);
    }

    [DkmsFact]
    public void Dkms_builds_the_module_for_the_guest_kernel_from_a_source_tree_copy()
    {
        var work = Directory.CreateTempSubdirectory("usbredir-dkms-").FullName;
        try
        {
            var version = Regex.Match(File.ReadAllText(RepoPaths.Combine("kernel", "dkms.conf")), "PACKAGE_VERSION=\"([^\"]+)\"").Groups[1].Value;
            var src = Path.Combine(work, "src", $"usbredir-vhci-{version}");
            foreach (var file in SourceFiles)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(src, file))!);
                File.Copy(RepoPaths.Combine("kernel", file), Path.Combine(src, file));
            }
            // Private source and module trees, not /usr/src and /var/lib/dkms (dkms may still create its MOK signing key there once).
            var trees = new[] { "--sourcetree", Path.Combine(work, "src"), "--dkmstree", Directory.CreateDirectory(Path.Combine(work, "tree")).FullName };
            var kernel = GuestVm.KernelVersion!;

            ProcessRunner.Run("dkms", ["add", "-m", "usbredir-vhci", "-v", version, .. trees]);
            ProcessRunner.Run("dkms", ["build", "-m", "usbredir-vhci", "-v", version, "-k", kernel, .. trees]);

            var ko = Directory.GetFiles(Path.Combine(work, "tree"), "usbredir_vhci.ko*", SearchOption.AllDirectories)
                .Single(p => p.Contains($"/{kernel}/", StringComparison.Ordinal));
            Assert.Equal(version, ProcessRunner.Run("modinfo", ["-F", "version", ko]).Trim());
            Assert.StartsWith(kernel + " ", ProcessRunner.Run("modinfo", ["-F", "vermagic", ko]));
            Assert.Equal("GPL", ProcessRunner.Run("modinfo", ["-F", "license", ko]).Trim());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void A_kdir_without_kernel_headers_is_refused_with_the_fix()
    {
        var psi = new ProcessStartInfo("make") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-C", RepoPaths.Combine("kernel"), "KDIR=/nonexistent/kernel/build", "modules" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();

        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("KDIR=/nonexistent/kernel/build does not exist: install the kernel headers", stderr);
        Assert.Contains("or pass KDIR=/lib/modules/<version>/build", stderr);
    }
}
