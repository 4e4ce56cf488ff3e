using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using UsbRedir.Transport;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Qemu;

/// <summary>
/// USB 3 bulk streams with QEMU's usb-redir as the usb-guest peer: our host role pushes <see cref="StreamsTestDevice"/> to a
/// usb-redir port on qemu-xhci in a Debian 6.1 guest; there a libusb program (tests/interop/libusb_streams_client.c) allocates
/// streams through the guest kernel's xHCI driver, which QEMU turns into alloc_bulk_streams, and round-trips data on each stream.
/// </summary>
public sealed class QemuStreamsTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardev listens on a fixed port).</summary>
    private const int FirstPort = 47350, LastPort = 47399;

    [LibusbVmFact]
    public async Task A_libusb_program_in_the_guest_uses_the_streams_of_a_pushed_superspeed_device()
    {
        var client = NativeHarness.Build("libusb_streams_client.c", "libusb-1.0");
        var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), 1, (ports, tag) =>
        {
            var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(6) };
            options.Modules.Add("xhci_pci");
            options.QemuArgs.AddRange([
                "-device", "qemu-xhci,id=xhci",
                "-chardev", $"socket,id=streams-{tag},host=127.0.0.1,port={ports[0]},server=on,wait=off",
                "-device", $"usb-redir,chardev=streams-{tag},bus=xhci.0",
            ]);
            return GuestVm.RunAsync(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "qemu-streams.sh"), client, "16"], options);
        });
        var port = ports[0];
        await using var device = new StreamsTestDevice();
        var connection = await UsbRedirConnection.ConnectAsync(device, new UsbRedirEndpoint("127.0.0.1", port));
        var result = await guest;
        output.WriteLine(result.ToString());
        output.WriteLine("--- our host role ---\n" + string.Join("\n", connection.Log.Entries));
        await connection.DisconnectAsync(TimeSpan.FromSeconds(2));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(result.KernelProblem, result.ToString());
        Assert.Contains("ok 16 streams round-tripped", result.Stdout);
        // QEMU asked for them on both endpoints and freed them again.
        Assert.Contains((StreamsTestDevice.BulkOut, 16), device.StreamChanges);
        Assert.Contains((StreamsTestDevice.BulkIn, 16), device.StreamChanges);
        Assert.Contains((StreamsTestDevice.BulkIn, 0), device.StreamChanges);
    }

}

/// <summary>A VM fact that also needs what builds the guest's libusb program on the host: gcc, pkg-config, libusb-1.0's headers.</summary>
public sealed class LibusbVmFactAttribute : FactAttribute
{
    public LibusbVmFactAttribute()
    {
        var missing = Missing();
        Skip = Peers.SkipUnless(missing.Length == 0, string.Join(", ", missing));
    }

    /// <summary>What is missing for such a fact (empty when nothing is), for attributes that need more besides.</summary>
    internal static string[] Missing()
    {
        var libusb = File.Exists("/usr/include/libusb-1.0/libusb.h") && Peers.HasCommand("gcc") && Peers.HasCommand("pkg-config");
        return new[] { GuestVm.Missing, libusb ? null : "libusb-1.0-0-dev, gcc, pkg-config" }.OfType<string>().ToArray();
    }
}
