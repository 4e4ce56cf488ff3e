namespace UsbRedir.Devices.Software.Hid;

/// <summary>
/// Turns text into keystrokes for a US-layout keyboard.
/// </summary>
/// <remarks>
/// Syntax:
/// <list type="bullet">
/// <item>Printable ASCII types itself; Shift is added where the US layout needs it ("A", "!", "{{}" ...).</item>
/// <item>"\n" (or "\r\n") presses Enter, "\t" presses Tab.</item>
/// <item>Braces name a key: {ENTER} {TAB} {ESC} {BACKSPACE} or {BS} {DELETE} or {DEL} {INSERT} {HOME} {END} {PGUP} {PGDN}
///   {UP} {DOWN} {LEFT} {RIGHT} {F1}..{F12} {SPACE} {CAPSLOCK} {NUMLOCK} {SCROLLLOCK} {PRTSC} {PAUSE} {MENU} {WIN}.</item>
/// <item>Chords join modifiers and one key with '+': {CTRL+ALT+DEL} {CTRL+c} {SHIFT+TAB} {ALT+F4} {WIN+r}. Modifiers:
///   CTRL, SHIFT, ALT, WIN (left keys), RCTRL, RSHIFT, RALT, RWIN. Names are case-insensitive, and so is a letter
///   after '+' ({CTRL+C} is Ctrl+C; add SHIFT for Ctrl+Shift+C); other characters bring their own Shift ({ALT+!}).</item>
/// <item>A modifier alone taps it: {WIN}, {SHIFT}.</item>
/// <item>A literal '{' is written {{}; a literal '}' may be written {}} or just '}'.</item>
/// </list>
/// </remarks>
public static class KeyboardScript
{
    private static readonly Dictionary<string, KeyboardKey> NamedKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ENTER"] = KeyboardKey.Enter, ["RETURN"] = KeyboardKey.Enter,
        ["TAB"] = KeyboardKey.Tab,
        ["ESC"] = KeyboardKey.Escape, ["ESCAPE"] = KeyboardKey.Escape,
        ["BACKSPACE"] = KeyboardKey.Backspace, ["BS"] = KeyboardKey.Backspace,
        ["DELETE"] = KeyboardKey.Delete, ["DEL"] = KeyboardKey.Delete,
        ["INSERT"] = KeyboardKey.Insert, ["INS"] = KeyboardKey.Insert,
        ["HOME"] = KeyboardKey.Home, ["END"] = KeyboardKey.End,
        ["PGUP"] = KeyboardKey.PageUp, ["PAGEUP"] = KeyboardKey.PageUp,
        ["PGDN"] = KeyboardKey.PageDown, ["PAGEDOWN"] = KeyboardKey.PageDown,
        ["UP"] = KeyboardKey.UpArrow, ["DOWN"] = KeyboardKey.DownArrow,
        ["LEFT"] = KeyboardKey.LeftArrow, ["RIGHT"] = KeyboardKey.RightArrow,
        ["SPACE"] = KeyboardKey.Space,
        ["CAPSLOCK"] = KeyboardKey.CapsLock, ["NUMLOCK"] = KeyboardKey.NumLock, ["SCROLLLOCK"] = KeyboardKey.ScrollLock,
        ["PRTSC"] = KeyboardKey.PrintScreen, ["PRINTSCREEN"] = KeyboardKey.PrintScreen,
        ["PAUSE"] = KeyboardKey.Pause, ["BREAK"] = KeyboardKey.Pause,
        ["MENU"] = KeyboardKey.Application, ["APPS"] = KeyboardKey.Application,
        ["F1"] = KeyboardKey.F1, ["F2"] = KeyboardKey.F2, ["F3"] = KeyboardKey.F3, ["F4"] = KeyboardKey.F4,
        ["F5"] = KeyboardKey.F5, ["F6"] = KeyboardKey.F6, ["F7"] = KeyboardKey.F7, ["F8"] = KeyboardKey.F8,
        ["F9"] = KeyboardKey.F9, ["F10"] = KeyboardKey.F10, ["F11"] = KeyboardKey.F11, ["F12"] = KeyboardKey.F12,
    };

    private static readonly Dictionary<string, KeyboardModifiers> Modifiers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["CTRL"] = KeyboardModifiers.LeftControl, ["CONTROL"] = KeyboardModifiers.LeftControl,
        ["SHIFT"] = KeyboardModifiers.LeftShift,
        ["ALT"] = KeyboardModifiers.LeftAlt,
        ["WIN"] = KeyboardModifiers.LeftGui, ["GUI"] = KeyboardModifiers.LeftGui,
        ["RCTRL"] = KeyboardModifiers.RightControl, ["RSHIFT"] = KeyboardModifiers.RightShift,
        ["RALT"] = KeyboardModifiers.RightAlt, ["RWIN"] = KeyboardModifiers.RightGui,
    };

    private const string UnshiftedSymbols = "-=[]\\;'`,./";
    private const string ShiftedSymbols = "_+{}|:\"~<>?";
    private static readonly KeyboardKey[] SymbolKeys =
    [
        KeyboardKey.Minus, KeyboardKey.Equals, KeyboardKey.LeftBracket, KeyboardKey.RightBracket, KeyboardKey.Backslash,
        KeyboardKey.Semicolon, KeyboardKey.Apostrophe, KeyboardKey.Grave, KeyboardKey.Comma, KeyboardKey.Period, KeyboardKey.Slash,
    ];

    private const string ShiftedDigits = "!@#$%^&*()";

    /// <exception cref="UsbRedirException">A character the US layout cannot type, or a malformed or unknown {...} name.</exception>
    public static IReadOnlyList<KeyStroke> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var strokes = new List<KeyStroke>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                continue;
            if (c != '{')
            {
                strokes.Add(ForCharacter(c) ?? throw Invalid(text, i, $"the character '{Printable(c)}' has no key on a US keyboard"));
                continue;
            }
            // "{{}" and "{}}" are the literal braces; otherwise the name runs to the next '}'.
            var close = i + 1 < text.Length && text[i + 1] is '{' or '}' ? i + 2 : text.IndexOf('}', i + 1);
            if (close < 0 || close >= text.Length || text[close] != '}')
                throw Invalid(text, i, "'{' starts a key name but there is no closing '}' (type a literal '{' as {{})");
            strokes.Add(ParseName(text, i, text[(i + 1)..close]));
            i = close;
        }
        return strokes;
    }

    /// <summary>The keystroke typing <paramref name="c"/> on a US layout, or null.</summary>
    public static KeyStroke? ForCharacter(char c)
    {
        switch (c)
        {
            case >= 'a' and <= 'z':
                return new(KeyboardModifiers.None, Offset(KeyboardKey.A, c - 'a'));
            case >= 'A' and <= 'Z':
                return new(KeyboardModifiers.LeftShift, Offset(KeyboardKey.A, c - 'A'));
            case '0':
                return new(KeyboardModifiers.None, KeyboardKey.D0);
            case >= '1' and <= '9':
                return new(KeyboardModifiers.None, Offset(KeyboardKey.D1, c - '1'));
            case ' ':
                return new(KeyboardModifiers.None, KeyboardKey.Space);
            case '\n':
                return new(KeyboardModifiers.None, KeyboardKey.Enter);
            case '\t':
                return new(KeyboardModifiers.None, KeyboardKey.Tab);
        }
        var digit = ShiftedDigits.IndexOf(c);
        if (digit >= 0)
            return new(KeyboardModifiers.LeftShift, digit == 9 ? KeyboardKey.D0 : Offset(KeyboardKey.D1, digit));
        var symbol = UnshiftedSymbols.IndexOf(c);
        if (symbol >= 0)
            return new(KeyboardModifiers.None, SymbolKeys[symbol]);
        symbol = ShiftedSymbols.IndexOf(c);
        if (symbol >= 0)
            return new(KeyboardModifiers.LeftShift, SymbolKeys[symbol]);
        return null;
    }

    private static KeyStroke ParseName(string text, int position, string name)
    {
        if (name.Length == 1 && ForCharacter(name[0]) is { } literal)
            return literal;
        var parts = name.Split('+');
        var modifiers = KeyboardModifiers.None;
        for (var p = 0; p < parts.Length - 1; p++)
        {
            if (!Modifiers.TryGetValue(parts[p].Trim(), out var modifier))
                throw Invalid(text, position, $"'{parts[p]}' in {{{name}}} is not a modifier (use CTRL, SHIFT, ALT, WIN, RCTRL, RSHIFT, RALT, RWIN)");
            modifiers |= modifier;
        }

        var keyName = parts[^1];
        if (parts.Length > 1 && keyName.Length == 1 && ForCharacter(char.IsAsciiLetter(keyName[0]) ? char.ToLowerInvariant(keyName[0]) : keyName[0]) is { } character)
            return character with { Modifiers = character.Modifiers | modifiers };
        keyName = keyName.Trim();
        if (NamedKeys.TryGetValue(keyName, out var key))
            return new(modifiers, key);
        // A lone modifier name taps that modifier key, e.g. {SHIFT}.
        if (parts.Length == 1 && Modifiers.TryGetValue(keyName, out var alone))
            return new(alone, KeyboardKey.None);
        throw Invalid(text, position, $"{{{name}}} is not a key name (see the list of names in the KeyboardScript help: ENTER, TAB, ESC, F1..F12, UP, ...)");
    }

    private static KeyboardKey Offset(KeyboardKey first, int steps) => (KeyboardKey)((int)first + steps);

    private static string Printable(char c) => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString();

    private static UsbRedirException Invalid(string text, int position, string reason) =>
        new("KeyboardScriptInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"Cannot type the text at position {position}: {reason}.",
            "Type only printable ASCII, \\n and \\t, and name other keys in braces, e.g. {ENTER}, {F5}, {CTRL+ALT+DEL}; write a literal '{' as {{}.",
            text);
}
