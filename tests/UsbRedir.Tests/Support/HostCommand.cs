using System.Diagnostics;

namespace UsbRedir.Tests.Support;

/// <summary>Runs a host program to completion for test setup (gcc, make, mke2fs, dkms, ...).</summary>
public static class HostCommand
{
    /// <summary>Runs <paramref name="file"/> and returns its stdout; a non-zero exit throws with both streams.</summary>
    public static string Run(string file, params IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', psi.ArgumentList)} failed ({p.ExitCode}):\n{stdout.Result}\n{stderr}");
        return stdout.Result;
    }
}
