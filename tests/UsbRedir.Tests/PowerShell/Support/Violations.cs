namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>Fails with every violation on its own line (xunit's collection output would truncate them).</summary>
public static class Violations
{
    public static void None(IEnumerable<string> violations)
    {
        var list = violations.ToList();
        Assert.True(list.Count == 0, $"{list.Count} problem(s):\n" + string.Join("\n", list));
    }
}
