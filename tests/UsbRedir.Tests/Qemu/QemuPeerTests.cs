using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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
    [VmFact]
    public async Task Guest_kernel_uses_a_pushed_disk_and_keyboard()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-qemu-").FullName;
        var content = RandomNumberGenerator.GetBytes(300_000);
        var image = Ext2Image.Create(shared, "stick.img", "16M", ("known.bin", content));
        var diskPort = FreePort();
        var keyboardPort = FreePort();

        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(4) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod", "usbhid", "hid_generic", "evdev"]);
        options.QemuArgs.AddRange([
            "-device", "qemu-xhci,id=xhci",
            "-chardev", $"socket,id=disk,host=127.0.0.1,port={diskPort},server=on,wait=off",
            "-device", "usb-redir,chardev=disk,bus=xhci.0",
            "-chardev", $"socket,id=kbd,host=127.0.0.1,port={keyboardPort},server=on,wait=off",
            "-device", "usb-redir,chardev=kbd,bus=xhci.0",
        ]);
        var guest = Task.Run(() => GuestVm.Run(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "qemu-peer.sh"), shared], options));

        await WaitForListenerAsync(diskPort, guest);
        await WaitForListenerAsync(keyboardPort, guest);
        using var cli = StartCli("connect", "--disk", image, "--server", $"127.0.0.1:{diskPort}", "--verbose");
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
        var cliOutput = await StopCliAsync(cli);
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

    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>Waits until qemu listens, without connecting (a probe connection would be taken as the usb-redir peer).</summary>
    internal static async Task WaitForListenerAsync(int port, Task<GuestRunResult> guest)
    {
        // qemu starts only once this guest has the machine-wide guest lock, which other VM tests (in this process or
        // another) may hold for minutes; the guest task ends by itself (run-vm's timeout) if qemu never comes up.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(20);
        while (!guest.IsCompleted && DateTime.UtcNow < deadline)
        {
            if (File.ReadLines("/proc/net/tcp").Skip(1).Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is var f && f[1].EndsWith($":{port:X4}") && f[3] == "0A"))
                return;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"qemu never listened on port {port}{(guest.IsCompleted ? ": " + guest.Result : "")}");
    }

    private static Process StartCli(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Stops the CLI the way a service manager does (SIGTERM) and returns everything it printed.</summary>
    private static async Task<string> StopCliAsync(Process cli)
    {
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        if (!cli.HasExited)
            Process.Start("kill", ["-TERM", cli.Id.ToString()])!.WaitForExit();
        if (!cli.WaitForExit(15_000))
            cli.Kill();
        return await stdout + await stderr;
    }
}
