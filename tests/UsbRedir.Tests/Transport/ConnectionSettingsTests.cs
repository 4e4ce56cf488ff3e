using UsbRedir.Transport;

namespace UsbRedir.Tests.Transport;

/// <summary>Reconnect and keepalive settings built from user input (cmdlet parameters, CLI flags).</summary>
public class ConnectionSettingsTests
{
    [Fact]
    public void Unset_values_keep_the_defaults()
    {
        Assert.Equal(ReconnectPolicy.Default, ReconnectPolicy.Create(null, null, null));
        Assert.Equal(TcpKeepAlive.Default, TcpKeepAlive.Create(null, null, null));
        Assert.Equal(new ReconnectPolicy(TimeSpan.FromSeconds(2), ReconnectPolicy.Default.MaxDelay, 3), ReconnectPolicy.Create(TimeSpan.FromSeconds(2), null, 3));
        // A first delay above the default maximum raises the maximum with it instead of failing.
        Assert.Equal(TimeSpan.FromMinutes(2), ReconnectPolicy.Create(TimeSpan.FromMinutes(2), null, null).MaxDelay);
        Assert.Equal(new TcpKeepAlive(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), 3), TcpKeepAlive.Create(TimeSpan.FromSeconds(5), null, null));
    }

    [Theory]
    [InlineData(-1.0, null, null)]
    [InlineData(5.0, 1.0, null)]
    [InlineData(null, null, -1)]
    public void Bad_reconnect_settings_are_named(double? initialSeconds, double? maxSeconds, int? attempts)
    {
        var e = Assert.Throws<UsbRedirException>(() => ReconnectPolicy.Create(
            initialSeconds is { } i ? TimeSpan.FromSeconds(i) : null, maxSeconds is { } m ? TimeSpan.FromSeconds(m) : null, attempts));
        Assert.Equal("ReconnectPolicyInvalid", e.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.InvalidArgument, e.Category);
        Assert.NotNull(e.RecommendedAction);
    }

    [Fact]
    public void Zero_attempts_is_never()
    {
        Assert.Null(ReconnectPolicy.Create(null, null, 0).DelayBefore(1));
    }

    [Theory]
    [InlineData(0, 10, 3)]
    [InlineData(30, 0, 3)]
    [InlineData(30, 10, 0)]
    public void Bad_keepalive_settings_are_named(int idle, int interval, int count)
    {
        var e = Assert.Throws<UsbRedirException>(() => TcpKeepAlive.Create(TimeSpan.FromSeconds(idle), TimeSpan.FromSeconds(interval), count));
        Assert.Equal("KeepAliveInvalid", e.ErrorId);
    }
}
