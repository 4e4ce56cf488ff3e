using System.Net;
using UsbRedir.Server;
using UsbRedir.Tests.Server;

namespace UsbRedir.Tests.Usbredirect;

/// <summary>The host side the usbredirect VM tests share: our server on a loopback port qemu's chardev can connect to, and its logs.</summary>
internal static class UsbredirectHarness
{
    /// <summary>Starts our server on the first free port of the test's share of the fixed-port range (qemu's outgoing chardev needs a fixed port).</summary>
    public static UsbRedirServer StartServer(RecordingSink sink, int firstPort, int lastPort)
    {
        for (var port = firstPort; port <= lastPort; port++)
        {
            try
            {
                return UsbRedirServer.Start(sink, new UsbRedirServerOptions { Address = IPAddress.Loopback, Port = port });
            }
            catch (UsbRedirException e) when (e.ErrorId == "ServerPortInUse") { }
        }
        throw new Xunit.Sdk.XunitException($"no free port in {firstPort}-{lastPort}");
    }

    /// <summary>The server's and every connection's log, for assertion messages.</summary>
    public static string Logs(UsbRedirServer server) =>
        "--- server ---\n" + string.Join("\n", server.Log.Entries)
        + string.Concat(server.Connections.Select(c => $"\n--- connection {c.Id} ---\n" + string.Join("\n", c.Log.Entries)));
}
