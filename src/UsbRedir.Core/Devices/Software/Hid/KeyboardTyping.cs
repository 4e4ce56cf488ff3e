namespace UsbRedir.Devices.Software.Hid;

/// <summary>
/// What a virtual keyboard is to type by itself and when: its keys (a <see cref="KeyboardScript"/>) and the delay after a
/// host has configured it. The one place the typing options are checked, for every front end (the CLI's connect and plug,
/// New-UsbVirtualDevice), so they all take and refuse the same things.
/// </summary>
public sealed record KeyboardTyping
{
    private KeyboardTyping(string keys, TimeSpan delay) => (Keys, Delay) = (keys, delay);

    /// <summary>How long the keyboard waits after configuration unless told otherwise: long enough for usbhid to bind.</summary>
    public static TimeSpan DefaultDelay => BootKeyboard.DefaultTypingDelay;

    /// <summary>The key script, checked.</summary>
    public string Keys { get; }

    /// <summary>The wait between configuration and the first keystroke.</summary>
    public TimeSpan Delay { get; }

    /// <summary>
    /// The typing <paramref name="keys"/> and <paramref name="delay"/> (null: <see cref="DefaultDelay"/>) ask for, or null
    /// when there are no keys to type.
    /// </summary>
    /// <exception cref="UsbRedirException">
    /// KeysDelayWithoutKeys (a delay with nothing to type), KeyboardScriptInvalid, or KeyboardDelayInvalid (negative).
    /// </exception>
    public static KeyboardTyping? Create(string? keys, TimeSpan? delay)
    {
        if (keys is null)
        {
            if (delay is not null)
                throw new UsbRedirException("KeysDelayWithoutKeys", UsbRedirErrorCategory.InvalidArgument,
                    "A delay before typing was given, but no keys to type.", "Give the keys to type with the delay, or leave the delay out.");
            return null;
        }
        KeyboardScript.Parse(keys);
        var wait = delay ?? DefaultDelay;
        if (wait < TimeSpan.Zero)
            throw new UsbRedirException("KeyboardDelayInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"The delay before typing cannot be negative (got {wait}).", "Give 0 or more seconds.", wait);
        return new KeyboardTyping(keys, wait);
    }

    /// <summary>
    /// Starts <paramref name="keyboard"/> typing (<see cref="BootKeyboard.TypeWhenConfiguredAsync"/>): the task never
    /// faults, so a front end may leave it running; true once the host has read every keystroke.
    /// </summary>
    public Task<bool> StartOn(BootKeyboard keyboard, CancellationToken cancellationToken = default) =>
        keyboard.TypeWhenConfiguredAsync(Keys, Delay, cancellationToken);
}
