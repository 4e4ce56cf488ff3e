using System.Text;
using UsbRedir.Devices.Software.Hid;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The keyboard script parser (<see cref="KeyboardScript"/>, behind --keys and -Keys): the input is the text (UTF-8).
/// Every keystroke it yields must be typeable (a key or a modifier), and at most one comes from each character.
/// </summary>
/// <remarks>Expected: <see cref="UsbRedirException"/> KeyboardScriptInvalid.</remarks>
internal static class KeyboardScriptTarget
{
    public static void Run(byte[] data)
    {
        var text = Encoding.UTF8.GetString(data);
        IReadOnlyList<KeyStroke> strokes;
        try
        {
            strokes = KeyboardScript.Parse(text);
        }
        catch (UsbRedirException e) when (e.ErrorId == "KeyboardScriptInvalid")
        {
            Invariant.Check(e.Message.StartsWith("Cannot type the text at position ", StringComparison.Ordinal), "an error that does not say where");
            return;
        }
        Invariant.Check(strokes.Count <= text.Length, $"{strokes.Count} keystrokes from {text.Length} characters");
        foreach (var s in strokes)
            Invariant.Check(s.Key != KeyboardKey.None || s.Modifiers != KeyboardModifiers.None, "a keystroke that presses nothing");
    }
}
