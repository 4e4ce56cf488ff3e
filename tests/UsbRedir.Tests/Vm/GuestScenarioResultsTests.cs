namespace UsbRedir.Tests.Vm;

/// <summary>The verdict on a guest scenario's PASS/FAIL lines (no VM: the lines are given).</summary>
public sealed class GuestScenarioResultsTests
{
    [Fact]
    public void One_pass_passes() =>
        Assert.Null(GuestScenarioResults.Problem("INFO x\nPASS disk.mounted\nPASS disk.mounted-ro\n", "disk.mounted"));

    [Fact]
    public void A_fail_beside_a_pass_fails_whatever_the_order()
    {
        // vhci-plug.sh once printed both for one name (a fault with no I/O in flight, then a read that "ended").
        var problem = GuestScenarioResults.Problem(
            "FAIL fault.unplug-during-io: no I/O in flight\nPASS fault.unplug-during-io\n", "fault.unplug-during-io");
        Assert.StartsWith("FAIL fault.unplug-during-io: no I/O in flight", problem);
        Assert.NotNull(GuestScenarioResults.Problem("PASS a\nFAIL a: late\n", "a"));
    }

    [Fact]
    public void Two_passes_for_one_name_fail() =>
        Assert.Equal("a: 2 results, one expected", GuestScenarioResults.Problem("PASS a\nPASS a\n", "a"));

    [Fact]
    public void A_missing_name_fails_and_a_longer_name_is_not_it() =>
        Assert.Equal("a: no result (scenario did not run)", GuestScenarioResults.Problem("PASS ab\nFAIL ab: x\nPASS a.b\n", "a"));

    [Fact]
    public void The_guest_uptime_that_checks_sh_prints_is_part_of_the_line_not_of_the_name()
    {
        // tests/vm/scenarios/checks.sh: "PASS name (12.34 s)" / "FAIL name (12.34 s)".
        Assert.Null(GuestScenarioResults.Problem("PASS peer-killed.reader-ends (46.41 s)\n", "peer-killed.reader-ends"));
        Assert.StartsWith("FAIL a (3.5 s)", GuestScenarioResults.Problem("FAIL a (3.5 s)\n", "a"));
        Assert.Equal("a: no result (scenario did not run)", GuestScenarioResults.Problem("PASS a (x) (1 s)\n", "a"));
    }
}
