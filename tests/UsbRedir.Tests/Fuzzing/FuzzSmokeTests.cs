using System.Diagnostics;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Fuzzing;

/// <summary>
/// The CI smoke run of the coverage-guided fuzzing (fuzz/run, docs/fuzzing.md): every parser target under AFL++ with
/// SharpFuzz instrumentation for a few seconds each, seeded with fuzz/corpus. It fails when a target crashes or hangs,
/// when AFL did not run or executed next to nothing, and when a target of the fuzz program has no row; and the
/// pipeline's own check proves that a crash does fail the run. Needs Debian's afl++ (.ci/install-deps); missing, it
/// fails under tests/run and is skipped elsewhere.
/// </summary>
public sealed class FuzzSmokeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    [AflFact]
    public void Every_parser_target_runs_under_AFL_without_a_crash_or_a_hang()
    {
        var outDir = Directory.CreateTempSubdirectory("usbredir-fuzz-smoke-");
        try
        {
            var (exitCode, output) = RunScript("--smoke", "--no-build", "--out", outDir.FullName);
            Assert.True(exitCode == 0, $"fuzz/run --smoke exited {exitCode}:\n{output}");

            var targets = ProcessRunner.Run(Path.Combine(FuzzBin, "UsbRedir.Fuzz"), "--list")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[0]).ToList();
            Assert.Contains("codec", targets);
            Assert.Contains("filter", targets);
            var rows = File.ReadAllLines(Path.Combine(outDir.FullName, "summary.tsv")).Skip(1)
                .Select(line => line.Split('\t')).ToDictionary(f => f[0]);
            foreach (var target in targets)
            {
                Assert.True(rows.TryGetValue(target, out var row), $"no AFL statistics for target {target}:\n{output}");
                // execs, corpus, edges, crashes, hangs
                Assert.True(long.Parse(row[1]) >= 100, $"{target}: AFL ran only {row[1]} inputs:\n{output}");
                Assert.True(int.Parse(row[5]) > 0, $"{target}: no instrumented edge was reached:\n{output}");
                Assert.Equal(("0", "0"), (row[7], row[8]));
            }
        }
        finally
        {
            outDir.Delete(recursive: true);
        }
    }

    [AflFact]
    public void A_crashing_input_fails_the_run_and_is_named_with_its_stack()
    {
        var outDir = Directory.CreateTempSubdirectory("usbredir-fuzz-selftest-");
        try
        {
            var seeds = Directory.CreateDirectory(Path.Combine(outDir.FullName, "seeds"));
            File.WriteAllText(Path.Combine(seeds.FullName, "fine"), "0x08,-1,-1,-1,1");
            File.WriteAllText(Path.Combine(seeds.FullName, "boom"), "crash,-1,-1,-1,1");
            var (exitCode, output) = RunScript("--time", "2", "--no-build", "--out", Path.Combine(outDir.FullName, "out"), "--corpus", seeds.FullName, "selftest");
            Assert.True(exitCode == 1, $"fuzz/run should fail on a crash, exited {exitCode}:\n{output}");
            Assert.Contains("selftest: a seed in", output);
            Assert.Contains("CRASH", output);
            Assert.Contains("self-test crash: the input starts with 'crash'", output);
        }
        finally
        {
            outDir.Delete(recursive: true);
        }
    }

    private static string FuzzBin => RepoPaths.Combine("fuzz", "UsbRedir.Fuzz", "bin", "Release", "net10.0");

    private static (int ExitCode, string Output) RunScript(params string[] arguments)
    {
        var psi = new ProcessStartInfo(RepoPaths.Combine("fuzz", "run"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var argument in arguments)
            psi.ArgumentList.Add(argument);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"fuzz/run {string.Join(' ', arguments)} did not finish within {Limit}:\n{stdout.Result}\n{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>A fact that needs Debian's afl++ (afl-fuzz); skipped only outside tests/run.</summary>
public sealed class AflFactAttribute : FactAttribute
{
    public AflFactAttribute() => Skip = Peers.SkipUnless(Peers.HasCommand("afl-fuzz"), "afl++ (afl-fuzz)");
}
