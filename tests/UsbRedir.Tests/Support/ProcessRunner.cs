using System.Diagnostics;

namespace UsbRedir.Tests.Support;

/// <summary>
/// Runs a program to completion and returns its stdout. Shared (as a linked file) with bench/UsbRedir.Benchmarks,
/// which builds and runs its C baselines the same way, so it depends on nothing but the BCL.
/// </summary>
internal static class ProcessRunner
{
    /// <exception cref="InvalidOperationException">The program exited non-zero; the message carries its output.</exception>
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
