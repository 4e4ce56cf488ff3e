using UsbRedir.Devices;
using UsbRedir.Devices.Local;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;

namespace UsbRedir.Cli.Commands;

/// <summary>
/// The device options commands share: a local device by id (first positional argument: 2.0, 2-1), or a software device
/// (--disk IMAGE [--read-only] | --keyboard, --speed, scripted typing).
/// </summary>
internal static class DeviceArguments
{
    public static readonly string[] ValueOptions = ["disk", "speed"];
    public static readonly string[] SwitchOptions = ["read-only", "keyboard", "allow-hub"];

    /// <summary>Usage lines for the local device argument.</summary>
    public const string LocalUsage = """
          ID                    a USB device of this machine: its id (2.0, 2.0.2; 0-based ports), busid
                                (2-1, 2-1.3), VID:PID (0781:5567, when only one matches) or serial
                                number, as 'usbredir list' shows them. Its kernel drivers are
                                detached while it is in use and re-attached afterwards.
            --allow-hub         allow exporting a hub (refused by default)
        """;

    /// <summary>
    /// The device the arguments describe: the local device <paramref name="id"/> when given (opened and claimed), else
    /// exactly one of --disk and --keyboard.
    /// </summary>
    public static async Task<IUsbDevice> CreateAsync(CliArguments a, string? id, CliConsole console, CancellationToken cancellationToken)
    {
        if (id is null)
        {
            if (a.Has("allow-hub"))
                throw new CliUsageException("--allow-hub applies to a local device (ID) only");
            return Create(a);
        }
        if (a.Has("disk") || a.Has("keyboard") || a.Has("speed") || a.Has("read-only"))
            throw new CliUsageException($"give a local device ({id}) or a software device (--disk, --keyboard), not both");
        var device = await LocalUsbDevice.OpenAsync(id, new LocalUsbDeviceOptions { AllowHub = a.Has("allow-hub") }, cancellationToken);
        device.Notice += message => console.Error.WriteLine($"usbredir: {message}");
        return device;
    }

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
