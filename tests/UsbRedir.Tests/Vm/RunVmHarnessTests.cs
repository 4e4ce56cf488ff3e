using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>tests/vm/run-vm itself: what every other VM test relies on, in one boot.</summary>
public sealed class RunVmHarnessTests(ITestOutputHelper output)
{
    [VmFact]
    public void Guest_sees_env_and_rw_share_returns_output_and_a_kernel_warning_fails_the_run()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-runvm-");
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(5), WorkingDirectory = shared.FullName };
        options.ReadWriteDirs.Add(shared.FullName);
        options.Environment["PROBE"] = "value with spaces";
        // The command succeeds, but the kernel log gains a WARNING: the harness must turn that into 126.
        var run = GuestVm.Run(
            ["bash", "-c",
             "echo \"out:$PROBE:$(uname -r)\"; echo to-stderr >&2; echo written-in-guest > result.txt; " +
             "touch /usr/bin/.usbredir-overlay && echo overlay-rw; " +
             "echo 'WARNING: injected by RunVmHarnessTests' > /dev/kmsg"],
            options);
        output.WriteLine(run.ToString());

        Assert.Contains($"out:value with spaces:{GuestVm.KernelVersion}", run.Stdout);
        Assert.Contains("to-stderr", run.Stderr);
        Assert.Equal("written-in-guest\n", File.ReadAllText(Path.Combine(shared.FullName, "result.txt")));
        // Writes outside the shares land in the guest's tmpfs overlay, never on the host.
        Assert.Contains("overlay-rw", run.Stdout);
        Assert.False(File.Exists("/usr/bin/.usbredir-overlay"));
        Assert.True(run.KernelProblem, run.ToString());
        Assert.Equal(126, run.ExitCode);
        Assert.Contains("injected by RunVmHarnessTests", File.ReadAllText(run.ConsoleLog));
        Assert.Equal(Path.Combine(shared.FullName, "console.log"), run.ConsoleLog);
    }
}
