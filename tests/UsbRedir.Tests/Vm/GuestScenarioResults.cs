using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// Reads the "PASS name" / "FAIL name: why" / "INFO ..." lines guest scenario scripts print (kernel/tests/run-in-guest.sh,
/// tests/vm/scenarios/vhci-plug.sh): one guest boot runs many checks, each fact asserts on its own names.
/// </summary>
public static class GuestScenarioResults
{
    /// <summary>Fails with every named check that did not pass (<see cref="Problem"/>) and the whole run.</summary>
    public static void AssertPassed(GuestRunResult run, ITestOutputHelper output, params string[] names)
    {
        foreach (var line in run.Stdout.Split('\n').Where(l => l.StartsWith("INFO ", StringComparison.Ordinal)))
            output.WriteLine(line);
        var failed = names.Select(name => Problem(run.Stdout, name)).OfType<string>().ToList();
        Assert.True(failed.Count == 0, $"{string.Join("\n", failed)}\n\n{run}");
    }

    /// <summary>
    /// Null when <paramref name="name"/> has exactly one result line in <paramref name="stdout"/> and it is a PASS; else
    /// why not: its FAIL lines (any FAIL fails, even beside a PASS), that it never ran, or that it reported more than once
    /// (a scenario that prints two results for one name has a bug the verdict must not hide).
    /// </summary>
    public static string? Problem(string stdout, string name)
    {
        // A result line may carry the guest's uptime, as tests/vm/scenarios/checks.sh prints it: "PASS name (12.34 s)".
        var results = Regex.Matches(stdout, $@"^(PASS|FAIL) {Regex.Escape(name)}(?: \([0-9.]+ s\))?(?::.*)?$", RegexOptions.Multiline)
            .Select(m => m.Value.TrimEnd('\r')).ToList();
        var fails = results.Where(r => r.StartsWith("FAIL ", StringComparison.Ordinal)).ToList();
        if (fails.Count > 0)
            return string.Join("\n", fails) + (results.Count > 1 ? $" ({results.Count} results for {name})" : "");
        return results.Count switch
        {
            0 => $"{name}: no result (scenario did not run)",
            1 => null,
            var n => $"{name}: {n} results, one expected",
        };
    }

    /// <summary>The md5 a scenario printed as "INFO md5.PATH HEX" (a disk read through one path); fails when there is none.</summary>
    public static string Md5(string stdout, string path)
    {
        var m = Regex.Match(stdout, $@"^INFO md5\.{Regex.Escape(path)} ([0-9a-f]{{32}})$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no md5 for {path}:\n{stdout}");
        return m.Groups[1].Value;
    }

    /// <summary>The guest run as a whole: no kernel problem in its log, no timeout, exit status 0 (its wall time goes to the output).</summary>
    public static void AssertSucceededCleanly(GuestRunResult run, ITestOutputHelper output)
    {
        output.WriteLine($"guest run: {run.Elapsed.TotalSeconds:F1} s wall, console log {run.ConsoleLog}");
        Assert.False(run.KernelProblem, run.ToString());
        Assert.False(run.TimedOut, run.ToString());
        Assert.Equal(0, run.ExitCode);
    }

    /// <summary>As <see cref="AssertSucceededCleanly"/>, and the scenario reported "SUMMARY all passed".</summary>
    public static void AssertWholeRunPassed(GuestRunResult run, ITestOutputHelper output)
    {
        AssertSucceededCleanly(run, output);
        Assert.Contains("SUMMARY all passed", run.Stdout);
    }
}
