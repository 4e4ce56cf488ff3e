using System.Globalization;
using System.Net;

namespace UsbRedir.Transport;

/// <summary>
/// A TCP endpoint as users write it: "host:port", "192.0.2.1:4000", "[::1]:4000", or a bare "4000"
/// (loopback) where a listener address is optional. Names are resolved at connect time, not here.
/// </summary>
public sealed record UsbRedirEndpoint(string Host, int Port)
{
    /// <summary>Parses "host:port" / "[v6]:port"; <paramref name="defaultPort"/> applies when no port is given.</summary>
    public static UsbRedirEndpoint Parse(string text, int? defaultPort = null) => Parse(text, defaultPort, lowestPort: 1);

    /// <param name="lowestPort">1, or 0 where "any free port" makes sense (a listener).</param>
    private static UsbRedirEndpoint Parse(string text, int? defaultPort, int lowestPort)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim();
        string host;
        string? portText;
        if (s.StartsWith('['))
        {
            var close = s.IndexOf(']');
            if (close < 0)
                throw Invalid(text, "an IPv6 address in brackets needs the closing ']'");
            host = s[1..close];
            var rest = s[(close + 1)..];
            if (rest.Length == 0) portText = null;
            else if (rest[0] == ':') portText = rest[1..];
            else throw Invalid(text, "expected ':port' after ']'");
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                throw Invalid(text, $"'{host}' is not an IPv6 address");
        }
        else
        {
            var colons = s.Count(c => c == ':');
            if (colons > 1)
            {
                // A bare IPv6 literal: allowed without a port only, since "::1:4000" is ambiguous.
                if (!IPAddress.TryParse(s, out _))
                    throw Invalid(text, "write IPv6 addresses with a port as [address]:port");
                host = s;
                portText = null;
            }
            else if (colons == 1)
            {
                var i = s.IndexOf(':');
                host = s[..i];
                portText = s[(i + 1)..];
            }
            else
            {
                host = s;
                portText = null;
            }
        }
        if (host.Length == 0)
            throw Invalid(text, "the host name is empty");
        int port;
        if (portText is null)
        {
            port = defaultPort ?? throw Invalid(text, "no port given; write host:port, e.g. 127.0.0.1:4000");
        }
        else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < lowestPort || port > 65535)
        {
            throw Invalid(text, $"'{portText}' is not a TCP port ({lowestPort}-65535)");
        }
        return new UsbRedirEndpoint(host, port);
    }

    public static bool TryParse(string text, out UsbRedirEndpoint? endpoint)
    {
        try
        {
            endpoint = Parse(text);
            return true;
        }
        catch (UsbRedirException)
        {
            endpoint = null;
            return false;
        }
    }

    /// <summary>The address when <see cref="Host"/> is a literal, else null (a name to resolve).</summary>
    public IPAddress? Address => IPAddress.TryParse(Host, out var a) ? a : null;

    /// <summary>
    /// Parses where to listen: "127.0.0.1:4000", "0.0.0.0:4000" (every IPv4 address), "[::]:4000" (every address, IPv4 and
    /// IPv6), "[::1]:4000", or "localhost:4000" (127.0.0.1). The host must be an address, not a name to resolve: a listener
    /// binds one address of this machine. Port 0 asks for any free port (the listener then shows the one it got).
    /// </summary>
    public static IPEndPoint ParseListen(string text)
    {
        var endpoint = Parse(text, defaultPort: null, lowestPort: 0);
        if (endpoint.Address is { } address)
            return new IPEndPoint(address, endpoint.Port);
        if (string.Equals(endpoint.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            return new IPEndPoint(IPAddress.Loopback, endpoint.Port);
        throw new UsbRedirException("EndpointInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"'{text}' is not an address to listen on: '{endpoint.Host}' is a name, and a listener binds an IP address of this machine.",
            "Give ADDRESS:PORT with an IP address, e.g. 127.0.0.1:4000 (this machine only), 0.0.0.0:4000 or [::]:4000 (every address).", text);
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    private static UsbRedirException Invalid(string text, string why) => new(
        "EndpointInvalid", UsbRedirErrorCategory.InvalidArgument,
        $"'{text}' is not a valid endpoint: {why}.",
        "Give host:port, e.g. 127.0.0.1:4000, bob:1138 or [::1]:4000.", text);
}
