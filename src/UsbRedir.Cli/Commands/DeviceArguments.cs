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
            "low" => UsbSpeed.Low,
            "full" => UsbSpeed.Full,
            "high" => UsbSpeed.High,
            var s => throw new CliUsageException($"--speed must be low, full or high, not '{s}'"),
        };
        if (a.Value("disk") is { } image)
            return VirtualDevices.CreateDisk(image, a.Has("read-only"), speed ?? UsbSpeed.High);
        if (a.Has("read-only"))
            throw new CliUsageException("--read-only applies to --disk only");
        return VirtualDevices.CreateKeyboard(speed ?? UsbSpeed.Full);
    }

    /// <summary>
    /// Types <paramref name="text"/> once the host has configured the keyboard (keys typed before its driver listens are
    /// lost) and says so when every keystroke was read. A bad script throws here, before anything runs; the returned
    /// task never faults (the engine's typing guards itself), so callers may leave it running.
    /// </summary>
    /// <exception cref="UsbRedirException">KeyboardScriptInvalid or KeyboardDelayInvalid.</exception>
    public static Task TypeWhenConfiguredAsync(BootKeyboard keyboard, string text, TimeSpan delay, CliConsole console, CancellationToken cancellationToken)
    {
        var typing = keyboard.TypeWhenConfiguredAsync(text, delay, cancellationToken);
        return ReportAsync();

        async Task ReportAsync()
        {
            if (await typing)
                console.Out.WriteLine($"typed {text.Length} characters");
        }
    }
}
