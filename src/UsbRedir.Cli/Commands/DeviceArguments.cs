using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;

namespace UsbRedir.Cli.Commands;

/// <summary>The software-device options commands share: --disk IMAGE [--read-only] | --keyboard, --speed, scripted typing.</summary>
internal static class DeviceArguments
{
    public static readonly string[] ValueOptions = ["disk", "speed"];
    public static readonly string[] SwitchOptions = ["read-only", "keyboard"];

    /// <summary>The typing options both commands take: --keys (also --type) and --keys-delay (also --type-delay).</summary>
    public static readonly string[] TypingOptions = ["keys", "type", "keys-delay", "type-delay"];

    /// <summary>
    /// The device the arguments describe (exactly one of --disk and --keyboard) and what the keyboard is to type; speeds
    /// default as <see cref="VirtualDevices"/> has them, typing options are checked by <see cref="KeyboardTyping"/>.
    /// </summary>
    /// <exception cref="UsbRedirException">A bad image, speed, key script or delay.</exception>
    public static (IUsbDevice Device, KeyboardTyping? Typing) Create(CliArguments a)
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
        var keys = Synonym(a, "keys", "type");
        var delay = Synonym(a, "keys-delay", "type-delay") is null
            ? (TimeSpan?)null
            : TimeSpan.FromSeconds(a.Seconds(a.Has("type-delay") ? "type-delay" : "keys-delay", 0));
        if (a.Value("disk") is { } image)
        {
            if (keys is not null || delay is not null)
                throw new CliUsageException("--keys applies to --keyboard only");
            return (VirtualDevices.CreateDisk(image, a.Has("read-only"), speed), null);
        }
        if (a.Has("read-only"))
            throw new CliUsageException("--read-only applies to --disk only");
        var typing = KeyboardTyping.Create(keys, delay);
        return (VirtualDevices.CreateKeyboard(speed), typing);
    }

    /// <summary>
    /// Starts <paramref name="keyboard"/> typing (it waits for the host to configure it: keys typed before its driver
    /// listens are lost) and says so when every keystroke was read. The returned task never faults (the engine's typing
    /// guards itself), so callers may leave it running.
    /// </summary>
    public static Task TypeWhenConfiguredAsync(BootKeyboard keyboard, KeyboardTyping typing, CliConsole console, CancellationToken cancellationToken)
    {
        var typed = typing.StartOn(keyboard, cancellationToken);
        return ReportAsync();

        async Task ReportAsync()
        {
            if (await typed)
                console.Out.WriteLine($"typed {typing.Keys.Length} characters");
        }
    }

    /// <summary>An option with an older spelling (--keys was --type first): both keep working, but not together.</summary>
    private static string? Synonym(CliArguments a, string name, string oldName)
    {
        if (a.Has(name) && a.Has(oldName))
            throw new CliUsageException($"give --{name} or --{oldName}, not both");
        return a.Value(name) ?? a.Value(oldName);
    }
}
