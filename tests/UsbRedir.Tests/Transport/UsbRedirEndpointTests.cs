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

    [Theory]
    [InlineData("127.0.0.1:4000", "127.0.0.1", 4000)]
    [InlineData("0.0.0.0:4000", "0.0.0.0", 4000)]
    [InlineData("[::]:4000", "::", 4000)]
    [InlineData("localhost:4001", "127.0.0.1", 4001)]
    [InlineData("127.0.0.1:0", "127.0.0.1", 0)]
    public void Listen_endpoints_are_addresses_of_this_machine(string text, string address, int port)
    {
        var e = UsbRedirEndpoint.ParseListen(text);
        Assert.Equal(System.Net.IPAddress.Parse(address), e.Address);
        Assert.Equal(port, e.Port);
    }

    [Theory]
    [InlineData("bob:4000", "is a name")]
    [InlineData("4000", "no port given")]
    public void A_listen_endpoint_needs_an_address_and_a_port(string text, string why)
    {
        var e = Assert.Throws<UsbRedirException>(() => UsbRedirEndpoint.ParseListen(text));
        Assert.Equal("EndpointInvalid", e.ErrorId);
        Assert.Contains(why, e.Message);
        Assert.Contains("127.0.0.1:4000", e.RecommendedAction);
    }
}
