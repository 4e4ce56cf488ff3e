using System.Diagnostics;

namespace UsbRedir.Controllers.Usbip;

/// <summary>Makes sure the stock vhci_hcd module is loaded, loading it with modprobe when that is allowed and possible.</summary>
internal static class VhciHcdModule
{
    private static readonly string[] ModprobePaths = ["/usr/sbin/modprobe", "/sbin/modprobe", "/usr/bin/modprobe", "/bin/modprobe"];

    /// <param name="sysfs">Where vhci_hcd shows up once loaded.</param>
    /// <param name="allowLoad">Whether to run modprobe when it is not loaded.</param>
    /// <param name="modprobe">The modprobe to run (tests use a stand-in); default: the system's.</param>
    /// <param name="isRoot">Whether this process may load modules; default: effective uid 0.</param>
    public static void EnsureLoaded(VhciHcdSysfs sysfs, bool allowLoad, string? modprobe = null, bool? isRoot = null)
    {
        if (sysfs.IsPresent) return;
        if (!allowLoad)
            throw VhciHcdErrors.NotLoaded(sysfs);
        if (!(isRoot ?? UsbipNative.GetEffectiveUserId() == 0))
            throw VhciHcdErrors.LoadDenied("");
        modprobe ??= ModprobePaths.FirstOrDefault(File.Exists)
            ?? throw VhciHcdErrors.LoadFailed(127, "modprobe was not found in /usr/sbin or /sbin (install kmod)");

        var psi = new ProcessStartInfo(modprobe) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("vhci-hcd");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            throw VhciHcdErrors.LoadFailed(-1, "modprobe did not finish within 30 s");
        }
        var error = stderr.Result;
        if (p.ExitCode != 0)
        {
            if (error.Contains("not found", StringComparison.OrdinalIgnoreCase))
                throw VhciHcdErrors.ModuleMissing(KernelRelease(), error);
            if (error.Contains("not permitted", StringComparison.OrdinalIgnoreCase))
                throw VhciHcdErrors.LoadDenied(error);
            throw VhciHcdErrors.LoadFailed(p.ExitCode, error);
        }
        // The platform devices are registered during module init, so they exist once modprobe returns; allow a moment anyway.
        for (var i = 0; i < 50 && !sysfs.IsPresent; i++)
            Thread.Sleep(20);
        if (!sysfs.IsPresent)
            throw VhciHcdErrors.NotLoaded(sysfs);
    }

    private static string KernelRelease()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return "(unknown release)"; }
    }
}
