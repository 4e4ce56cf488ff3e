namespace UsbRedir.Devices.Software.Hid;

/// <summary>HID class requests and report types (HID 1.11 section 7.2).</summary>
public static class HidRequests
{
    public const byte GetReport = 0x01;
    public const byte GetIdle = 0x02;
    public const byte GetProtocol = 0x03;
    public const byte SetReport = 0x09;
    public const byte SetIdle = 0x0A;
    public const byte SetProtocol = 0x0B;

    public const byte ReportTypeInput = 1;
    public const byte ReportTypeOutput = 2;
    public const byte ReportTypeFeature = 3;

    public const byte ProtocolBoot = 0;
    public const byte ProtocolReport = 1;
}
