namespace UsbRedir.Devices.Software;

/// <summary>bDescriptorType values (USB 2.0 table 9-5, USB 3.2 table 9-6, HID 1.11 section 7.1).</summary>
public static class UsbDescriptorTypes
{
    public const byte Device = 1;
    public const byte Configuration = 2;
    public const byte String = 3;
    public const byte Interface = 4;
    public const byte Endpoint = 5;
    public const byte DeviceQualifier = 6;
    public const byte OtherSpeedConfiguration = 7;
    public const byte Bos = 0x0F;
    public const byte DeviceCapability = 0x10;
    public const byte SuperSpeedEndpointCompanion = 0x30;
    public const byte Hid = 0x21;
    public const byte HidReport = 0x22;
}
