namespace UsbRedir.Devices.Software.Hid;

/// <summary>One key tapped with modifiers held: a press report then a release report.</summary>
public readonly record struct KeyStroke(KeyboardModifiers Modifiers, KeyboardKey Key);
