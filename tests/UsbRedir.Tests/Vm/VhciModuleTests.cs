using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// usbredir_vhci.ko for real: one guest boot runs kernel/tests/run-in-guest.sh (every C scenario of
/// kernel/tests/vhci_test.c plus insmod/udev/rmmod checks); each fact asserts on its area's lines.
/// </summary>
public sealed class VhciModuleTests(ITestOutputHelper output)
{
    private static readonly Lazy<GuestRunResult> GuestRun = new(RunInGuest);

    private static GuestRunResult RunInGuest()
    {
        var results = Directory.CreateTempSubdirectory("usbredir-vhci-vm-");
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8) };
        options.ReadWriteDirs.Add(results.FullName);
        return GuestVm.Run(
            [Path.Combine(VhciModuleBuild.KernelDir, "tests", "run-in-guest.sh"),
             VhciModuleBuild.Module, VhciModuleBuild.TestProgram,
             Path.Combine(VhciModuleBuild.KernelDir, "60-usbredir-vhci.rules")],
            options);
    }

    private void AssertPassed(params string[] names) => GuestScenarioResults.AssertPassed(GuestRun.Value, output, names);

    [VmFact]
    public void Module_builds_against_the_guest_kernel_and_loads_with_a_group_usable_node() =>
        AssertPassed("module.insmod", "module.devnode", "module.udev-rule",
            "module.unprivileged-group-member", "module.non-member-refused");

    [VmFact]
    public void Abi_checks_versions_rejects_malformed_commands_unchanged_and_polls() =>
        AssertPassed("abi.open", "abi.version", "abi.read-before-create", "abi.write-before-create",
            "abi.create-wrong-version", "abi.create-0-ports", "abi.create-32-ports", "abi.create-reserved",
            "abi.create-flags", "abi.unknown-ioctl", "abi.create", "abi.create-result", "abi.create-twice",
            "abi.sysfs-nports", "abi.sysfs-abi", "abi.sysfs-misc-abi", "abi.roothub-ports", "abi.power-events",
            "abi.poll-idle", "abi.read-nonblock-empty", "abi.malformed-einval", "abi.malformed-no-change",
            "abi.disconnect-empty", "abi.connect-busy", "abi.poll-wakes", "abi.read-emsgsize",
            "abi.submit-after-emsgsize", "abi.close-removes");

    [VmFact]
    public void User_space_device_enumerates_moves_bulk_data_both_ways_and_unlinks_without_answering() =>
        AssertPassed("enum.create", "enum.connect", "enum.configured", "enum.idVendor", "enum.idProduct",
            "enum.product-string", "enum.speed", "enum.set-address", "enum.sysfs-ports",
            "enum.usbfs-bulk-and-unlink", "enum.oversized-completion-einval", "enum.unlink-event",
            "enum.unlink-status", "enum.late-complete-ignored", "enum.inflight-zero", "enum.disconnect",
            "enum.disconnect-removes-device");

    [VmFact]
    public void Killing_the_device_process_mid_transfer_fails_the_transfer_and_removes_the_bus() =>
        AssertPassed("kill.device-up", "kill.transfer-held", "kill.inflight-visible", "kill.transfer-ends",
            "kill.controller-removed", "kill.bus-removed");

    [VmFact]
    public void Memory_per_controller_is_bounded_by_max_inflight_and_recovers_after_answers_and_unlinks() =>
        AssertPassed("bound.create", "bound.device-up", "bound.fills-to-max-inflight", "bound.next-submit-enospc",
            "bound.inflight-at-limit", "bound.read-keeps-bound", "bound.answers-free-room",
            "bound.resubmit-and-unlink-all", "bound.inflight-zero");

    [VmFact]
    public void Several_controllers_with_31_ports_each_come_and_go_with_their_files() =>
        AssertPassed("multi.three-controllers-31-ports", "multi.connect-port-31", "multi.close-removes-all");

    [VmFact]
    public void Rmmod_is_refused_while_a_device_is_attached_and_works_after_the_owner_dies() =>
        AssertPassed("module.rmmod-refused-while-open", "module.device-survives-rmmod-attempt",
            "module.rmmod-after-close", "module.devnode-removed", "module.reload");

    [VmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log()
    {
        var run = GuestRun.Value;
        output.WriteLine($"guest run: {run.Elapsed.TotalSeconds:F1} s wall, console log {run.ConsoleLog}");
        Assert.False(run.KernelProblem, run.ToString());
        Assert.False(run.TimedOut, run.ToString());
        Assert.Contains("SUMMARY all passed", run.Stdout);
        Assert.Equal(0, run.ExitCode);
    }
}
