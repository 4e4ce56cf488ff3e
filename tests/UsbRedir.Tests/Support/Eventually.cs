namespace UsbRedir.Tests.Support;

/// <summary>
/// Waits for a condition another thread makes true (a background loop reaching a state), instead of sleeping a fixed
/// time and hoping it did: fast when the machine is idle, still correct when it is loaded.
/// </summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestDeadline.Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }
}
