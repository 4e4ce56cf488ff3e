using UsbRedir.Transport;

namespace UsbRedir.Tests.Transport;

public class ReconnectPolicyTests
{
    [Fact]
    public void Doubles_with_jitter_up_to_the_maximum()
    {
        var policy = new ReconnectPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), null);
        var random = new Random(1);
        for (var attempt = 1; attempt <= 40; attempt++)
        {
            var expected = Math.Min(Math.Pow(2, attempt - 1), 10);
            var delay = policy.DelayBefore(attempt, random)!.Value.TotalSeconds;
            Assert.InRange(delay, expected * 0.8 - 1e-9, expected * 1.2 + 1e-9);
        }
    }

    [Fact]
    public void Stops_after_max_attempts()
    {
        var policy = new ReconnectPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), 2);
        Assert.NotNull(policy.DelayBefore(2));
        Assert.Null(policy.DelayBefore(3));
        Assert.Null(ReconnectPolicy.Never.DelayBefore(1));
    }
}
