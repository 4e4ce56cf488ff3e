using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using UsbRedir.Transport;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Qemu;

/// <summary>
/// QEMU's usb-redir as the usb-guest peer for isochronous streams: a 6.1 guest with an xHCI controller and one usb-redir
/// port on host loopback. <see cref="IsoTestDevice"/> is pushed to it in-process; in the guest a libusb program
/// (tests/interop/libusb_iso_client.c) selects the iso alt setting, checks every IN packet (sequence, pattern, length)
/// and streams numbered OUT packets, which the device records for this test to check byte by byte.
/// </summary>
public sealed partial class QemuIsoPeerTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardev listens on a fixed port).</summary>
    private const int FirstPort = 47550, LastPort = 47599;

    internal const int InPackets = 1500;
    internal const int OutPackets = 1000;
    // Extra OUT packets after the counted ones: they push the counted ones through the host's ring (QEMU asks for up to
    // 16 transfers of up to 32 packets; the ring holds what has not played yet when the guest stops the stream).
    internal const int OutFlush = 600;
    // Loss bounds that do not rest on our own log: at most a tenth of either stream may go missing (the guest's own gap
    // count for IN, the device's own record for OUT), whatever the host says it dropped.
    internal const int MaxInGaps = InPackets / 10, MaxOutMissing = OutPackets / 10;

    [VmFact]
    public async Task Guest_libusb_moves_iso_in_and_out_through_qemu_usb_redir()
    {
        var client = NativeHarness.Build("libusb_iso_client.c", "libusb-1.0");
        var shared = Directory.CreateTempSubdirectory("usbredir-qemu-iso-").FullName;
        string[] command = [client, $"{IsoTestDevice.VendorId:x4}", $"{IsoTestDevice.ProductId:x4}", $"{InPackets}", $"{OutPackets}", $"{OutFlush}"];
        var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), 1, (ports, tag) =>
        {
            var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(6) };
            options.ReadWriteDirs.Add(shared);
            options.Modules.Add("xhci_pci");
            options.QemuArgs.AddRange([
                "-device", "qemu-xhci,id=xhci",
                "-chardev", $"socket,id=iso-{tag},host=127.0.0.1,port={ports[0]},server=on,wait=off",
                // The pcap (usbmon format, readable by Wireshark) is kept for debugging when the test fails.
                "-device", $"usb-redir,chardev=iso-{tag},bus=xhci.0,pcap={Path.Combine(shared, "usb-redir.pcap")}",
            ]);
            return GuestVm.RunAsync(command, options);
        });
        var port = ports[0];
        await using var device = new IsoTestDevice();
        var log = new ConcurrentQueue<SessionLogEntry>();
        var connection = await UsbRedirConnection.ConnectAsync(device, new UsbRedirEndpoint("127.0.0.1", port), logListener: log.Enqueue);
        var result = await guest;
        await connection.DisconnectAsync(TimeSpan.FromSeconds(2));
        var hostLog = string.Join("\n", log);
        output.WriteLine(result.ToString());
        output.WriteLine("--- host session ---\n" + hostLog);

        Assert.True(result.ExitCode == 0, result + "\n" + hostLog);
        Assert.False(result.KernelProblem, result.ToString());

        // IN: every packet with data was right (the client checks and counts) and numbers only rose. Empty packets are
        // QEMU prefilling its buffer; skipped numbers (gaps, printed) would be QEMU dropping when the guest falls behind.
        var inLine = InSummary().Match(result.Stdout);
        Assert.True(inLine.Success, result.Stdout);
        Assert.True(int.Parse(inLine.Groups["data"].Value) >= InPackets, inLine.Value);
        Assert.Equal("0", inLine.Groups["bad"].Value);
        Assert.True(int.Parse(inLine.Groups["gaps"].Value) <= MaxInGaps, $"{inLine.Value}: more than {MaxInGaps} IN packets skipped");

        // OUT: QEMU forwarded every packet the guest sent (the host counted them in), and the device played them in order,
        // byte for byte. The only packets allowed missing are those the host dropped because its ring was full (logged
        // with a count), and at the end the flush packets still in the ring when the guest stopped the stream.
        var outStop = OutStopped().Match(hostLog);
        Assert.True(outStop.Success, hostLog);
        Assert.Equal(OutPackets + OutFlush, long.Parse(outStop.Groups["received"].Value));
        var dropped = long.Parse(outStop.Groups["dropped"].Value);
        var played = device.Received;
        var numbers = played.Select(p => BinaryPrimitives.ReadInt32LittleEndian(p)).ToArray();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Length, numbers.Distinct().Count());
        Assert.All(played, p => Assert.Equal(OutPacket(BinaryPrimitives.ReadInt32LittleEndian(p)), p));
        var missing = OutPackets - numbers.Count(n => n < OutPackets);
        Assert.True(missing <= dropped, $"{missing} of the first {OutPackets} OUT packets never reached the device, but the host dropped only {dropped}");
        Assert.True(missing <= MaxOutMissing, $"{missing} of the first {OutPackets} OUT packets never reached the device (at most {MaxOutMissing} may)");
        output.WriteLine($"OUT: device played {played.Count} packets, {missing} of the counted {OutPackets} missing, host dropped {dropped}");
        Directory.Delete(shared, recursive: true);
    }

    /// <summary>OUT packet n as libusb_iso_client.c builds it: n (32-bit little endian), then a pattern; 4 to 192 bytes.</summary>
    internal static byte[] OutPacket(int n)
    {
        var data = new byte[4 + (int)((uint)n * 53 % (IsoTestDevice.MaxPacketSize - 3))];
        BinaryPrimitives.WriteInt32LittleEndian(data, n);
        for (var i = 4; i < data.Length; i++)
            data[i] = (byte)(n * 11 + i);
        return data;
    }

    [GeneratedRegex(@"IN: data=(?<data>\d+) empty=(?<empty>\d+) gaps=(?<gaps>\d+) bad=(?<bad>\d+)")]
    internal static partial Regex InSummary();

    [GeneratedRegex(@"iso stream on endpoint 0x02 stopped: (?<received>\d+) packets received, (?<dropped>\d+) dropped")]
    private static partial Regex OutStopped();
}
