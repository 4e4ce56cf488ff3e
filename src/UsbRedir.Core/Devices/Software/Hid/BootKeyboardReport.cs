namespace UsbRedir.Devices.Software.Hid;

/// <summary>The 8-byte boot keyboard input report: modifiers, a reserved byte, up to six pressed keys (HID 1.11 appendix B.1).</summary>
public readonly record struct BootKeyboardReport(KeyboardModifiers Modifiers, KeyboardKey Key1 = KeyboardKey.None, KeyboardKey Key2 = KeyboardKey.None,
    KeyboardKey Key3 = KeyboardKey.None, KeyboardKey Key4 = KeyboardKey.None, KeyboardKey Key5 = KeyboardKey.None, KeyboardKey Key6 = KeyboardKey.None)
{
    public const int Size = 8;

    public static BootKeyboardReport Released => default;

    public static BootKeyboardReport FromKeys(KeyboardModifiers modifiers, IReadOnlyList<KeyboardKey> keys)
    {
        if (keys.Count > 6)
            throw new ArgumentException("A boot keyboard report holds at most six keys.", nameof(keys));
        KeyboardKey At(int i) => i < keys.Count ? keys[i] : KeyboardKey.None;
        return new(modifiers, At(0), At(1), At(2), At(3), At(4), At(5));
    }

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = (byte)Modifiers;
        destination[1] = 0;
        destination[2] = (byte)Key1;
        destination[3] = (byte)Key2;
        destination[4] = (byte)Key3;
        destination[5] = (byte)Key4;
        destination[6] = (byte)Key5;
        destination[7] = (byte)Key6;
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public static BootKeyboardReport Read(ReadOnlySpan<byte> bytes) =>
        new((KeyboardModifiers)bytes[0], (KeyboardKey)bytes[2], (KeyboardKey)bytes[3], (KeyboardKey)bytes[4],
            (KeyboardKey)bytes[5], (KeyboardKey)bytes[6], (KeyboardKey)bytes[7]);
}
