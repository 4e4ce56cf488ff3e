using System.Net;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.Server;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Usbredirect;

/// <summary>
/// What the usbredirect VM tests share: a Debian 6.1 guest where usbredirect exports one of qemu's emulated USB devices
/// (tests/vm/scenarios/usbredirect-peer.sh), its stream carried out through virtio-serial (qemu connects out to host
/// loopback) to our server, whose sink hands the device to the test as a <see cref="RemoteUsbDevice"/>.
/// </summary>
internal static class UsbredirectHarness
{
    /// <summary>
    /// A fresh shared folder holding <paramref name="fileName"/>, a disk image of <paramref name="blocks"/> 512-byte
    /// sectors of seeded random bytes (known content for the sector checks; the seed keeps each test's image its own).
    /// </summary>
    public static async Task<(string Shared, string Image, byte[] Content)> RandomDiskImageAsync(string fileName, int blocks, int seed)
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-usbredirect-").FullName;
        var image = Path.Combine(shared, fileName);
        var content = new byte[blocks * 512];
        new Random(seed).NextBytes(content);
        await File.WriteAllBytesAsync(image, content);
        return (shared, image, content);
    }

    /// <summary>
    /// Boots the guest with <paramref name="qemuDevice"/> (qemu arguments adding the device on bus xhci.0), runs
    /// <paramref name="use"/> on the device usbredirect exports (vid:pid <paramref name="deviceId"/>), then lets the guest
    /// finish and checks it ended cleanly. The server listens on the first free port of the test's share of the fixed-port
    /// range (qemu's outgoing chardev needs a fixed port). <paramref name="shared"/> is shared read-write with the guest.
    /// </summary>
    public static async Task RunAsync(ITestOutputHelper output, (int First, int Last) ports, string shared, string deviceId,
        IEnumerable<string> qemuDevice, Func<UsbRedirServerConnection, RemoteUsbDevice, Task> use, string? kernelArgs = null)
    {
        var sink = new RecordingSink();
        await using var server = StartServer(sink, ports.First, ports.Last);
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8), KernelArgs = kernelArgs };
        options.ReadWriteDirs.Add(shared);
        options.Modules.Add("xhci_pci");
        options.QemuArgs.AddRange(["-device", "qemu-xhci,id=xhci", .. qemuDevice]);
        options.SerialClients.Add((server.LocalEndPoint.Port, "redir"));
        var guest = GuestVm.RunAsync(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "usbredirect-peer.sh"), shared, deviceId], options);

        try
        {
            // Bounded by the guest run itself (run-vm's timeout starts once it holds the machine-wide VM lock, which other
            // test runs on this machine may hold for a while), not by a guess of how long that wait takes.
            var attach = sink.NextAttachedAsync(TimeSpan.FromMinutes(30));
            if (await Task.WhenAny(attach, guest) == guest)
                throw new Xunit.Sdk.XunitException($"the guest ended before usbredirect's device reached our server:\n{guest.Result}\n{Logs(server)}");
            var (connection, attached) = await attach;
            var device = Assert.IsType<RemoteUsbDevice>(attached);
            output.WriteLine($"attached: {device.Description}, {device.Speed} speed, peer \"{connection.PeerVersion}\"");
            Assert.Contains("usbredir", connection.PeerVersion, StringComparison.OrdinalIgnoreCase);
            await use(connection, device);
            Assert.Equal(0, connection.ErrorCount);
        }
        finally
        {
            await File.WriteAllTextAsync(Path.Combine(shared, "host-done"), "done\n");
        }
        var result = await guest;
        output.WriteLine(result.ToString());
        output.WriteLine(Logs(server));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(result.KernelProblem, result.ToString());
        await server.StopAsync(TimeSpan.FromSeconds(5));
    }

    private static UsbRedirServer StartServer(RecordingSink sink, int firstPort, int lastPort)
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
    private static string Logs(UsbRedirServer server) =>
        "--- server ---\n" + string.Join("\n", server.Log.Entries)
        + string.Concat(server.Connections.Select(c => $"\n--- connection {c.Id} ---\n" + string.Join("\n", c.Log.Entries)));
}
