using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;

namespace UsbRedir.Cli.Commands;

/// <summary>The software-device options commands share: --disk IMAGE [--read-only] | --keyboard, --speed, scripted typing.</summary>
internal static class DeviceArguments
{
    public static readonly string[] ValueOptions = ["disk", "speed"];
    public static readonly string[] SwitchOptions = ["read-only", "keyboard"];

    /// <summary>The device the arguments describe (exactly one of --disk and --keyboard).</summary>
    public static IUsbDevice Create(CliArguments a)
    {
        if (a.Has("disk") == a.Has("keyboard"))
            throw new CliUsageException("give exactly one device: --disk IMAGE or --keyboard");
        var speed = a.Value("speed") switch
        {
            null => (UsbSpeed?)null,
            "full" => UsbSpeed.Full,
            "high" => UsbSpeed.High,
            var s => throw new CliUsageException($"--speed must be full or high, not '{s}'"),
        };
        if (a.Value("disk") is { } image)
            return VirtualDevices.CreateDisk(image, a.Has("read-only"), speed ?? UsbSpeed.High);
        if (a.Has("read-only"))
            throw new CliUsageException("--read-only applies to --disk only");
        return VirtualDevices.CreateKeyboard(speed ?? UsbSpeed.Full);
    }

    /// <summary>Keys typed before the host's driver listens are lost, so wait until the keyboard is configured.</summary>
    public static async Task TypeWhenConfiguredAsync(BootKeyboard keyboard, string text, TimeSpan delay, CliConsole console, CancellationToken cancellationToken)
    {
        try
        {
            while (keyboard.ActiveConfiguration == 0)
                await Task.Delay(100, cancellationToken);
            await Task.Delay(delay, cancellationToken);
            keyboard.Type(text);
            await keyboard.WhenAllReportsDeliveredAsync(cancellationToken);
            console.Out.WriteLine($"typed {text.Length} characters");
        }
        catch (OperationCanceledException) { }
        catch (UsbRedirException e)
        {
            console.Fail(e);
        }
    }
}
