using UsbRedir.Devices;
using UsbRedir.Devices.Local;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Devices.Sources;

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
    public static async Task<(IUsbDevice Device, TypingRequest? Typing)> CreateAsync(CliArguments a, string? id, CliConsole console,
        CancellationToken cancellationToken)
    {
        if (id is null)
        {
            if (a.Has("allow-hub"))
                throw new CliUsageException("--allow-hub applies to a local device (ID) only");
            return Create(a);
        }
        if (a.Has("disk") || a.Has("keyboard") || a.Has("speed") || a.Has("read-only") || TypingOptions.Any(a.Has))
            throw new CliUsageException($"give a local device ({id}) or a software device (--disk, --keyboard and their options), not both");
        var device = await LocalUsbDevice.OpenAsync(id, LocalOptions(a), cancellationToken);
        device.Notice += Notice(console);
        return (device, null);
    }

    /// <summary>
    /// Where a connection gets <paramref name="device"/> from: a local device is re-opened whenever it comes back after it
    /// went away (auto re-attach, <see cref="LocalUsbDeviceSource"/>, which then owns it); a software device is exported as it is.
    /// </summary>
    public static IUsbDeviceSource SourceOf(IUsbDevice device, CliArguments a, CliConsole console) => device is LocalUsbDevice local
        ? LocalUsbDeviceSource.Create(local, LocalOptions(a), notice: Notice(console))
        : new FixedUsbDeviceSource(device);

    private static LocalUsbDeviceOptions LocalOptions(CliArguments a) => new() { AllowHub = a.Has("allow-hub") };

    private static Action<string> Notice(CliConsole console) => message => console.Error.WriteLine($"usbredir: {message}");

    /// <summary>The typing options both commands take: --keys (also --type) and --keys-delay (also --type-delay).</summary>
    public static readonly string[] TypingOptions = ["keys", "type", "keys-delay", "type-delay"];

    /// <summary>
    /// The device the arguments describe (exactly one of --disk and --keyboard) and what the keyboard is to type; speeds
    /// default as <see cref="VirtualDevices"/> has them, typing options are checked by <see cref="KeyboardTyping"/>.
    /// </summary>
    /// <exception cref="UsbRedirException">A bad image, speed, key script or delay.</exception>
    public static (IUsbDevice Device, TypingRequest? Typing) Create(CliArguments a)
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
        // --keys -: the keys come later, as a line of standard input; the delay is checked now all the same.
        var fromInput = keys == "-";
        var typing = KeyboardTyping.Create(fromInput ? "" : keys, delay);
        return (VirtualDevices.CreateKeyboard(speed), typing is null ? null : new TypingRequest(typing, fromInput));
    }

    /// <summary>
    /// Starts <paramref name="keyboard"/> typing (it waits for the host to configure it: keys typed before its driver
    /// listens are lost) and says so when every keystroke was read. With --keys -, the keys are the first line of standard
    /// input, whenever it comes (a script can type once its reader listens; a secret stays out of the process list); a bad
    /// line is reported and typed not. The returned task never faults, so callers may leave it running.
    /// </summary>
    public static Task TypeWhenConfiguredAsync(BootKeyboard keyboard, TypingRequest request, CliConsole console, CancellationToken cancellationToken)
    {
        return request.FromInput ? FromInputAsync() : TypeAsync(request.Typing);

        async Task FromInputAsync()
        {
            try
            {
                if (await console.In.ReadLineAsync(cancellationToken) is not { } line)
                    return;
                await TypeAsync(KeyboardTyping.Create(line, request.Typing.Delay)!);
            }
            catch (UsbRedirException e)
            {
                console.Error.WriteLine($"usbredir: error [{e.ErrorId}]: {e.Message} (nothing typed)");
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // stopped, or no input to read: nothing to type
            }
        }

        async Task TypeAsync(KeyboardTyping typing)
        {
            if (await typing.StartOn(keyboard, cancellationToken))
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

/// <summary>What a keyboard is to type: the checked typing, whose keys come from standard input when <paramref name="FromInput"/>.</summary>
internal sealed record TypingRequest(KeyboardTyping Typing, bool FromInput);
