namespace UsbRedir.Devices.Software.Hid;

/// <summary>The boot keyboard output report: the LEDs the host wants lit.</summary>
[Flags]
public enum KeyboardLeds : byte
{
    None = 0,
    NumLock = 0x01,
    CapsLock = 0x02,
    ScrollLock = 0x04,
    Compose = 0x08,
    Kana = 0x10,
}
