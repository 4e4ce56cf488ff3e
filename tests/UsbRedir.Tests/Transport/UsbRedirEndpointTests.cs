using UsbRedir.Transport;

namespace UsbRedir.Tests.Transport;

public class UsbRedirEndpointTests
{
    [Theory]
    [InlineData("127.0.0.1:4000", "127.0.0.1", 4000)]
    [InlineData("bob:1138", "bob", 1138)]
    [InlineData("[::1]:4000", "::1", 4000)]
    [InlineData(" [fe80::1%2]:65535 ", "fe80::1%2", 65535)]
    [InlineData("localhost:1", "localhost", 1)]
    public void Parses_host_and_port(string text, string host, int port)
    {
        var e = UsbRedirEndpoint.Parse(text);
        Assert.Equal(host, e.Host);
        Assert.Equal(port, e.Port);
    }

    [Fact]
    public void Default_port_applies_only_when_none_given()
    {
        Assert.Equal(4000, UsbRedirEndpoint.Parse("bob", 4000).Port);
        Assert.Equal(4000, UsbRedirEndpoint.Parse("::1", 4000).Port);
        Assert.Equal(7, UsbRedirEndpoint.Parse("bob:7", 4000).Port);
    }

    [Theory]
    [InlineData("bob")]            // no port, no default
    [InlineData("bob:0")]
    [InlineData("bob:65536")]
    [InlineData("bob:12x")]
    [InlineData("bob:-1")]
    [InlineData(":4000")]
    [InlineData("[::1")]
    [InlineData("[::1]4000")]
    [InlineData("[bob]:4000")]
    [InlineData("1:2:3")]
    public void Rejects_bad_text_with_a_named_error(string text)
    {
        var e = Assert.Throws<UsbRedirException>(() => UsbRedirEndpoint.Parse(text));
        Assert.Equal("EndpointInvalid", e.ErrorId);
        Assert.Contains(text, e.Message);
        Assert.NotNull(e.RecommendedAction);
    }

    [Fact]
    public void Formats_ipv6_in_brackets()
    {
        Assert.Equal("[::1]:4000", UsbRedirEndpoint.Parse("[::1]:4000").ToString());
        Assert.Equal("bob:1138", UsbRedirEndpoint.Parse("bob:1138").ToString());
    }
}
