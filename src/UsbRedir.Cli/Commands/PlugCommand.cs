using UsbRedir.Controllers;
using UsbRedir.Devices.Software.Hid;

namespace UsbRedir.Cli.Commands;

/// <summary>`usbredir plug`: create a local virtual host controller, plug a software device into it, keep it there until stopped.</summary>
internal sealed class PlugCommand : ICliCommand
{
    public string Name => "plug";

    public string Summary => "plug a virtual device into this machine through a virtual host controller";

    public string Usage => $$$"""
        usage: usbredir plug DEVICE [options]

        DEVICE (one of):
        {{{DeviceArguments.LocalUsage}}}
          --disk IMAGE          a USB flash drive backed by IMAGE (raw, a multiple of 512 bytes)
            --read-only         the drive refuses writes; IMAGE is never modified
          --keyboard            a HID boot keyboard
            --keys TEXT         type TEXT once the kernel has configured the keyboard ({ENTER}, {TAB}, {F5},
                                {CTRL+ALT+DEL}, ... for keys; {{} for a literal brace). Also --type.
                                --keys - types the first line of standard input, when it comes.
            --keys-delay SEC    wait SEC seconds after configuration before typing (default 1). Also --type-delay.
          --speed low|full|high
                                bus speed (default: high for disks, full for keyboards; low for keyboards only)

        options:
          --ports N             ports of the new controller, 1 to 31 (default 1)
          --port P              the port to plug into (default: the first free one)
          --backend auto|vhci-ctrl|usbip
                                auto (default): our usbredir_vhci module when /dev/vhci-ctrl exists,
                                else the stock USB/IP vhci_hcd

        Needs root, or membership of the group the udev rule kernel/60-usbredir-vhci.rules names.
        Runs until Ctrl+C or SIGTERM, which unplugs the device and removes the controller.
        Exit codes: 0 stopped by you, 1 the controller failed or the device went away, 2 bad
        arguments, 3 no permission.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        var a = CliArguments.Parse(args, [.. DeviceArguments.ValueOptions, .. DeviceArguments.TypingOptions, "ports", "port", "backend"],
            DeviceArguments.SwitchOptions);
        if (a.Positionals.Count > 1)
            throw new CliUsageException($"unexpected argument '{a.Positionals[1]}'");
        var backend = ControllerArguments.Backend(a);
        var ports = a.Int("ports", 1, 1, VirtualHostController.MaxPorts);
        var port = a.Int("port", 0, 0, ports);
        var (created, typing) = await DeviceArguments.CreateAsync(a, a.Positionals.Count > 0 ? a.Positionals[0] : null, console, cancellationToken);
        await using var device = created;
        await using var controller = await VirtualHostControllerFactory.Default.CreateAsync(ports, backend, cancellationToken);
        var unplugged = new TaskCompletionSource<VirtualPortChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        controller.PortChanged += (_, e) =>
        {
            if (e.Port.State == VirtualPortState.Free)
                unplugged.TrySetResult(e);
        };
        var used = await controller.PlugAsync(device, port, cancellationToken);
        console.Out.WriteLine($"plugged: {device.Description} into port {used} of {controller.Name} " +
            $"(backend {controller.Backend}, bus {controller.BusNumber}, {controller.PortCount} ports)");

        if (device is BootKeyboard keyboard && typing is not null)
            _ = DeviceArguments.TypeWhenConfiguredAsync(keyboard, typing, console, cancellationToken);

        try
        {
            var ended = await unplugged.Task.WaitAsync(cancellationToken);
            var why = controller.Fault?.Message ?? ended.Error?.Message ?? "the device went away";
            console.Error.WriteLine($"usbredir: unplugged from port {used} of {controller.Name}: {why}");
            return ExitCode.Failure;
        }
        catch (OperationCanceledException)
        {
            await controller.DisposeAsync();
            console.Out.WriteLine($"unplugged: {device.Description}; controller {controller.Name} removed");
            return ExitCode.Success;
        }
    }
}
