namespace UsbRedir.Devices.Software.Hid;

/// <summary>Byte 0 of the boot keyboard report: one bit per modifier key (usage 0xE0 + bit number).</summary>
[Flags]
public enum KeyboardModifiers : byte
{
    None = 0,
    LeftControl = 0x01,
    LeftShift = 0x02,
    LeftAlt = 0x04,
    LeftGui = 0x08,
    RightControl = 0x10,
    RightShift = 0x20,
    RightAlt = 0x40,
    RightGui = 0x80,
}
