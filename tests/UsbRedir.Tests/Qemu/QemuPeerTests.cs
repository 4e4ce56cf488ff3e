using System.Security.Cryptography;
using UsbRedir.Devices.Software;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using UsbRedir.Transport;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Qemu;

/// <summary>
/// QEMU's usb-redir as the usb-guest peer: a Debian 6.1 guest with an xHCI controller and two usb-redir ports listening
/// on host loopback. The `usbredir connect` CLI pushes a virtual disk to one, an in-process keyboard goes to the other;
/// the guest kernel must enumerate both, usb-storage and usbhid must bind, the guest reads and writes the disk and
/// receives the typed keys.
/// </summary>
public sealed class QemuPeerTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardevs listen on fixed ports).</summary>
    private const int FirstPort = 47500, LastPort = 47549;

    [VmFact]
    public async Task Guest_kernel_uses_a_pushed_disk_and_keyboard()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-qemu-").FullName;
        var content = RandomNumberGenerator.GetBytes(300_000);
        var image = Ext2Image.Create(shared, "stick.img", "16M", ("known.bin", content));
        var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), 2, (ports, tag) =>
        {
            var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(6) };
            options.ReadWriteDirs.Add(shared);
            options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod", "usbhid", "hid_generic", "evdev"]);
            options.QemuArgs.AddRange([
                "-device", "qemu-xhci,id=xhci",
                "-chardev", $"socket,id=disk-{tag},host=127.0.0.1,port={ports[0]},server=on,wait=off",
                "-device", $"usb-redir,chardev=disk-{tag},bus=xhci.0",
                "-chardev", $"socket,id=kbd-{tag},host=127.0.0.1,port={ports[1]},server=on,wait=off",
                "-device", $"usb-redir,chardev=kbd-{tag},bus=xhci.0",
            ]);
            return GuestVm.RunAsync(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "qemu-peer.sh"), shared], options);
        });
        var (diskPort, keyboardPort) = (ports[0], ports[1]);
        using var cli = CliProcess.Start("connect", "--disk", image, "--server", $"127.0.0.1:{diskPort}", "--verbose");
        await using var keyboard = VirtualDevices.CreateKeyboard();
        var kbdConnection = await UsbRedirConnection.ConnectAsync(keyboard, new UsbRedirEndpoint("127.0.0.1", keyboardPort));
        var typing = Task.Run(async () =>
        {
            var ready = Path.Combine(shared, "keyboard-listening");
            while (!File.Exists(ready) && !guest.IsCompleted)
                await Task.Delay(200);
            keyboard.Type("usbredir 42{ENTER}");
        });

        var result = await guest;
        await typing;
        output.WriteLine(result.ToString());
        await kbdConnection.DisconnectAsync(TimeSpan.FromSeconds(2));
        var cliOutput = await CliProcess.StopAsync(cli);
        output.WriteLine("--- usbredir connect ---\n" + cliOutput);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(result.KernelProblem, result.ToString());
        Assert.Contains($"{Convert.ToHexString(MD5.HashData(content)).ToLowerInvariant()}  /tmp/stick/known.bin", result.Stdout);
        // u s b r e d i r space 4 2 enter, as evdev key codes
        Assert.Contains("keys: 22 31 48 19 18 32 23 19 57 5 3 28", result.Stdout);
        var console = File.ReadAllText(result.ConsoleLog);
        Assert.Contains("usb-storage", console);
        Assert.Contains("Product: UsbRedir", console);
        Assert.Equal("written by the guest through usb-redir\n", Ext2Image.ReadFile(image, "/from-guest.txt"));
        Assert.Contains("disconnected:", cliOutput);
        Directory.Delete(shared, recursive: true);
    }
}
