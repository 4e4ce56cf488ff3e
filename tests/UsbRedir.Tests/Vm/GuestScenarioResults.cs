using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// Reads the "PASS name" / "FAIL name: why" / "INFO ..." lines guest scenario scripts print (kernel/tests/run-in-guest.sh,
/// tests/vm/scenarios/vhci-plug.sh): one guest boot runs many checks, each fact asserts on its own names.
/// </summary>
public static class GuestScenarioResults
{
    /// <summary>Fails with every named check that did not pass (its FAIL line, or that it never ran) and the whole run.</summary>
    public static void AssertPassed(GuestRunResult run, ITestOutputHelper output, params string[] names)
    {
        foreach (var line in run.Stdout.Split('\n').Where(l => l.StartsWith("INFO ", StringComparison.Ordinal)))
            output.WriteLine(line);
        var failed = new List<string>();
        foreach (var name in names)
        {
            if (!Regex.IsMatch(run.Stdout, $"^PASS {Regex.Escape(name)}$", RegexOptions.Multiline))
            {
                var fail = Regex.Match(run.Stdout, $"^FAIL {Regex.Escape(name)}:.*$", RegexOptions.Multiline);
                failed.Add(fail.Success ? fail.Value : $"{name}: no result (scenario did not run)");
            }
        }
        Assert.True(failed.Count == 0, $"{string.Join("\n", failed)}\n\n{run}");
    }

    /// <summary>The scenario reported "SUMMARY all passed", exited 0 in time, and the guest kernel's log is clean.</summary>
    public static void AssertWholeRunPassed(GuestRunResult run, ITestOutputHelper output)
    {
        output.WriteLine($"guest run: {run.Elapsed.TotalSeconds:F1} s wall, console log {run.ConsoleLog}");
        Assert.False(run.KernelProblem, run.ToString());
        Assert.False(run.TimedOut, run.ToString());
        Assert.Contains("SUMMARY all passed", run.Stdout);
        Assert.Equal(0, run.ExitCode);
    }
}
