using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.MassStorage;
using UsbRedir.Devices.Sources;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using UsbRedir.Transport;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Qemu;

/// <summary>
/// QEMU's usb-redir with a client chardev (server=off, reconnect=1: libvirt's redirdev in connect mode) reaching a
/// listening UsbRedir exporter of a virtual disk, in one Debian 6.1 guest boot: the guest reads the disk; the link is
/// dropped (a relay between the two closes both ends) and QEMU reconnects, getting the disk again; the disk is unplugged
/// and plugged in again and the connection re-exports it by itself (auto re-attach). The guest reads the same bytes
/// each time, and what it wrote the first time lands in the image.
/// </summary>
public sealed class QemuListenTests(ITestOutputHelper output)
{
    /// <summary>
    /// A TCP relay from QEMU to the exporter that can drop every link it carries: both QEMU and the exporter then see their
    /// connection end, as when the network between them fails.
    /// </summary>
    private sealed class DroppableRelay : IAsyncDisposable
    {
        private readonly TcpServerListener _listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Socket> _open = [];
        private readonly IPEndPoint _target;

        public DroppableRelay(IPEndPoint target)
        {
            _target = target;
            _ = _listener.AcceptLoopAsync(RelayAsync, _ => { }, _stop.Token);
        }

        public int Port => _listener.LocalEndPoint.Port;

        /// <summary>How many links QEMU has opened through the relay.</summary>
        public int Links;

        private async Task RelayAsync(Socket qemu, CancellationToken stopping)
        {
            var exporter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await exporter.ConnectAsync(_target, stopping);
            lock (_open)
                _open.AddRange([qemu, exporter]);
            Interlocked.Increment(ref Links);
            await Task.WhenAny(PumpAsync(qemu, exporter), PumpAsync(exporter, qemu));
            qemu.Dispose();
            exporter.Dispose();
        }

        private static async Task PumpAsync(Socket from, Socket to)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = await from.ReceiveAsync(buffer)) > 0)
                    await to.SendAsync(buffer.AsMemory(0, n));
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The link was dropped.
            }
        }

        /// <summary>Drops every link: both ends see the connection close.</summary>
        public void DropAll()
        {
            lock (_open)
            {
                foreach (var socket in _open)
                    socket.Dispose();
                _open.Clear();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            DropAll();
            await _listener.DisposeAsync();
        }
    }

    [VmFact]
    public async Task Qemu_connects_to_a_listening_exporter_reconnects_after_a_drop_and_gets_a_replugged_disk_back()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-qemu-listen-").FullName;
        var content = RandomNumberGenerator.GetBytes(200_000);
        var image = Ext2Image.Create(shared, "stick.img", "16M", ("known.bin", content));
        var md5 = Convert.ToHexString(MD5.HashData(content)).ToLowerInvariant();

        // The disk can be unplugged and plugged in again: while plugged, the source opens a new virtual disk over the image.
        var plugged = true;
        MassStorageDevice? current = null;
        var source = new ReopeningUsbDeviceSource("stick.img", _ =>
        {
            if (!Volatile.Read(ref plugged))
                return Task.FromResult<IUsbDevice?>(null);
            current = VirtualDevices.CreateDisk(image);
            return Task.FromResult<IUsbDevice?>(current);
        });
        var connection = await UsbRedirConnection.ListenAsync(source, new IPEndPoint(IPAddress.Loopback, 0),
            logListener: e => output.WriteLine($"exporter: {e}"));
        await using var relay = new DroppableRelay(connection.ListenEndPoint!);

        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(5) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod"]);
        options.QemuArgs.AddRange([
            "-device", "qemu-xhci,id=xhci",
            "-chardev", $"socket,id=disk,host=127.0.0.1,port={relay.Port},server=off,reconnect=1",
            "-device", "usb-redir,chardev=disk,bus=xhci.0",
        ]);
        var guest = GuestVm.RunAsync(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "qemu-listen.sh"), shared], options);
        try
        {
            // Round 1 read: the link drops; QEMU reconnects and the exporter serves it again.
            await UntilAsync(() => File.Exists(Path.Combine(shared, "round-1")), guest, "the guest read the disk");
            Assert.Equal(ConnectionState.Connected, connection.State);
            relay.DropAll();

            // Round 2 read: the disk is unplugged, and plugged in again while the exporter waits for it.
            await UntilAsync(() => File.Exists(Path.Combine(shared, "round-2")), guest, "the guest read the disk after the drop");
            Assert.True(connection.Reconnects >= 1, $"QEMU's reconnect was served as the next peer ({connection.Reconnects})");
            Volatile.Write(ref plugged, false);
            await current!.DisposeAsync();
            await UntilAsync(() => connection.State == ConnectionState.WaitingForDevice, guest, "the exporter waits for the disk");
            Volatile.Write(ref plugged, true);
            source.NotifyChanged();

            var result = await guest;
            output.WriteLine(result.ToString());
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.False(result.KernelProblem, result.ToString());
            for (var round = 1; round <= 3; round++)
                Assert.Contains($"round {round}: {md5}", result.Stdout);
            Assert.Contains("round 1: /dev/sd", result.Stdout); // the disk went away with the link ...
            Assert.Contains("round 2: /dev/sd", result.Stdout); // ... and with the unplug
            Assert.Equal(1, connection.Reattachments);
            Assert.True(relay.Links >= 3, $"QEMU connected {relay.Links} times: at first, after the drop, after the replug");
            Assert.DoesNotContain(connection.Log.Entries, e => e.Message.Contains("did not acknowledge device_disconnect"));
            // The guest powered off, so QEMU left: the exporter listens for the next peer.
            await Eventually.TrueAsync(() => connection.State == ConnectionState.Listening, "the exporter listens again after QEMU exited");
        }
        finally
        {
            await connection.DisconnectAsync(TimeSpan.FromSeconds(2));
            if (!guest.IsCompleted)
                output.WriteLine((await guest).ToString());
        }
        Assert.Equal("written by the guest through a listening exporter\n", Ext2Image.ReadFile(image, "/from-guest.txt"));
        Directory.Delete(shared, recursive: true);
    }

    /// <summary>Waits for a condition the guest brings about, failing with the guest's output if it ends first.</summary>
    private static async Task UntilAsync(Func<bool> condition, Task<GuestRunResult> guest, string what)
    {
        // The guest run has its own timeout (run-vm kills it); this only waits for it, including the machine-wide VM lock.
        while (!condition())
        {
            if (guest.IsCompleted)
                throw new Xunit.Sdk.XunitException($"the guest ended before {what}: {await guest}");
            await Task.Delay(100);
        }
    }
}
