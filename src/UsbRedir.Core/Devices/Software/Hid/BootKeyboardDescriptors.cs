using System.Buffers.Binary;

namespace UsbRedir.Devices.Software.Hid;

/// <summary>The HID and report descriptors of a boot keyboard.</summary>
public static class BootKeyboardDescriptors
{
    /// <summary>
    /// The report descriptor of HID 1.11 appendix E.6: 8 modifier bits, a reserved byte, 5 LED output bits (+3 padding),
    /// and six key array bytes — exactly the boot report, so report and boot protocol send the same bytes.
    /// </summary>
    public static ReadOnlyMemory<byte> Report { get; } = new byte[]
    {
        0x05, 0x01, // Usage Page (Generic Desktop)
        0x09, 0x06, // Usage (Keyboard)
        0xA1, 0x01, // Collection (Application)
        0x05, 0x07, //   Usage Page (Keyboard/Keypad)
        0x19, 0xE0, //   Usage Minimum (Left Control)
        0x29, 0xE7, //   Usage Maximum (Right GUI)
        0x15, 0x00, //   Logical Minimum (0)
        0x25, 0x01, //   Logical Maximum (1)
        0x75, 0x01, //   Report Size (1)
        0x95, 0x08, //   Report Count (8)
        0x81, 0x02, //   Input (Data, Variable, Absolute): modifier byte
        0x95, 0x01, //   Report Count (1)
        0x75, 0x08, //   Report Size (8)
        0x81, 0x01, //   Input (Constant): reserved byte
        0x95, 0x05, //   Report Count (5)
        0x75, 0x01, //   Report Size (1)
        0x05, 0x08, //   Usage Page (LEDs)
        0x19, 0x01, //   Usage Minimum (Num Lock)
        0x29, 0x05, //   Usage Maximum (Kana)
        0x91, 0x02, //   Output (Data, Variable, Absolute): LED report
        0x95, 0x01, //   Report Count (1)
        0x75, 0x03, //   Report Size (3)
        0x91, 0x01, //   Output (Constant): LED padding
        0x95, 0x06, //   Report Count (6)
        0x75, 0x08, //   Report Size (8)
        0x15, 0x00, //   Logical Minimum (0)
        0x25, 0x65, //   Logical Maximum (101)
        0x05, 0x07, //   Usage Page (Keyboard/Keypad)
        0x19, 0x00, //   Usage Minimum (0)
        0x29, 0x65, //   Usage Maximum (101)
        0x81, 0x00, //   Input (Data, Array): key array
        0xC0,       // End Collection
    };

    /// <summary>The 9-byte HID descriptor (HID 1.11 6.2.1): bcdHID 1.11, no country code, one report descriptor.</summary>
    public static ReadOnlyMemory<byte> Hid { get; } = BuildHid();

    private static byte[] BuildHid()
    {
        byte[] hid = [9, UsbDescriptorTypes.Hid, 0x11, 0x01, 0x00, 1, UsbDescriptorTypes.HidReport, 0, 0];
        BinaryPrimitives.WriteUInt16LittleEndian(hid.AsSpan(7), (ushort)Report.Length);
        return hid;
    }
}
