using System.Net;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.Server;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Usbredirect;

/// <summary>
/// One boot of the usbredirect scenario: a disk image of known random bytes, one of QEMU's emulated USB disks on qemu-xhci in a
/// Debian 6.1 guest backed by it, usbredirect exporting that disk, and its stream leaving the guest through virtio-serial
/// (qemu connects out to host loopback) to our server, whose sink receives the device as our usb-guest role sees it.
/// </summary>
internal sealed class UsbredirectExport : IAsyncDisposable
{
    private readonly string _shared;
    private readonly Task<GuestRunResult> _guest;

    private UsbredirectExport(string shared, byte[] content, RecordingSink sink, UsbRedirServer server, Task<GuestRunResult> guest)
    {
        _shared = shared;
        Content = content;
        Sink = sink;
        Server = server;
        _guest = guest;
    }

    /// <summary>What the disk holds.</summary>
    public byte[] Content { get; }

    public RecordingSink Sink { get; }

    public UsbRedirServer Server { get; }

    /// <summary>
    /// Boots the guest. <paramref name="qemuDevices"/> are the qemu arguments that plug the disk in, with <c>{image}</c> for the
    /// image's path; <paramref name="deviceId"/> is the vendor:product usbredirect exports. <paramref name="firstPort"/> to
    /// <paramref name="lastPort"/> is the caller's share of the project's fixed ports (qemu's outgoing chardev needs one).
    /// </summary>
    public static async Task<UsbredirectExport> StartAsync(int blocks, int seed, string deviceId, IEnumerable<string> qemuDevices,
        int firstPort, int lastPort, string? kernelArgs = null)
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-usbredirect-").FullName;
        var image = Path.Combine(shared, "disk.img");
        var content = new byte[blocks * 512];
        new Random(seed).NextBytes(content);
        await File.WriteAllBytesAsync(image, content);

        var sink = new RecordingSink();
        var server = StartOnFreePort(sink, firstPort, lastPort);
        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(3), KernelArgs = kernelArgs };
        options.ReadWriteDirs.Add(shared);
        options.Modules.Add("xhci_pci");
        options.QemuArgs.AddRange(["-device", "qemu-xhci,id=xhci"]);
        options.QemuArgs.AddRange(qemuDevices.Select(a => a.Replace("{image}", image)));
        options.SerialClients.Add((server.LocalEndPoint.Port, "redir"));
        var guest = Task.Run(() => GuestVm.Run(
            ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "usbredirect-peer.sh"), shared, deviceId], options));
        return new UsbredirectExport(shared, content, sink, server, guest);
    }

    /// <summary>The exported device once it reached our server, or a failure with the guest's output if the guest ended first.</summary>
    public async Task<(UsbRedirServerConnection Connection, RemoteUsbDevice Device)> AttachedAsync()
    {
        // Bounded by the guest run itself (run-vm's timeout starts once it holds the machine-wide VM lock, which other
        // test runs on this machine may hold for a while), not by a guess of how long that wait takes.
        var attach = Sink.NextAttachedAsync(TimeSpan.FromMinutes(30));
        if (await Task.WhenAny(attach, _guest) == _guest)
            throw new Xunit.Sdk.XunitException($"the guest ended before usbredirect's device reached our server:\n{_guest.Result}\n{Logs()}");
        var (connection, device) = await attach;
        return (connection, Assert.IsType<RemoteUsbDevice>(device));
    }

    /// <summary>Tells the guest the host is done, so usbredirect stops exporting and the guest shuts down.</summary>
    public Task ReleaseAsync() => File.WriteAllTextAsync(Path.Combine(_shared, "host-done"), "done\n");

    /// <summary>Waits for the guest (after <see cref="ReleaseAsync"/>), which must have exited cleanly with a quiet kernel log.</summary>
    public async Task FinishAsync(ITestOutputHelper output)
    {
        var result = await _guest;
        output.WriteLine(result.ToString());
        output.WriteLine(Logs());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(result.KernelProblem, result.ToString());
        await Server.StopAsync(TimeSpan.FromSeconds(5));
        Directory.Delete(_shared, recursive: true);
    }

    /// <summary>Stops the server (a failed test leaves the guest to its own timeout once the connection is gone).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Directory.Exists(_shared)) // not yet finished
            await ReleaseAsync();
        await Server.DisposeAsync();
    }

    private string Logs() =>
        "--- server ---\n" + string.Join("\n", Server.Log.Entries)
        + string.Concat(Server.Connections.Select(c => $"\n--- connection {c.Id} ---\n" + string.Join("\n", c.Log.Entries)));

    private static UsbRedirServer StartOnFreePort(RecordingSink sink, int first, int last)
    {
        for (var port = first; port <= last; port++)
        {
            try
            {
                return UsbRedirServer.Start(sink, new UsbRedirServerOptions { Address = IPAddress.Loopback, Port = port });
            }
            catch (UsbRedirException e) when (e.ErrorId == "ServerPortInUse") { }
        }
        throw new Xunit.Sdk.XunitException($"no free port in {first}-{last}");
    }
}
