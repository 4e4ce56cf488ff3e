using System.Diagnostics;

namespace UsbRedir.Tests.Support;

/// <summary>The built <c>usbredir</c> CLI (UsbRedir.Cli.dll beside the tests) as a child process of a test.</summary>
internal static class CliProcess
{
    public static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Runs the CLI to its end: its exit code and everything it printed.</summary>
    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var cli = Start(args);
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return (cli.ExitCode, await stdout + await stderr);
    }

    /// <summary>Stops the CLI the way a service manager does (SIGTERM) and returns everything it printed.</summary>
    public static async Task<string> StopAsync(Process cli)
    {
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        if (!cli.HasExited)
            Process.Start("kill", ["-TERM", cli.Id.ToString()])!.WaitForExit();
        if (!cli.WaitForExit(15_000))
            cli.Kill();
        return await stdout + await stderr;
    }
}
