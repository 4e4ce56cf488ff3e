namespace UsbRedir.Devices.Software;

/// <summary>bRequest codes, feature selectors and bmRequestType fields of chapter 9 (USB 2.0 tables 9-2, 9-4, 9-6).</summary>
public static class UsbStandardRequests
{
    public const byte GetStatus = 0x00;
    public const byte ClearFeature = 0x01;
    public const byte SetFeature = 0x03;
    public const byte SetAddress = 0x05;
    public const byte GetDescriptor = 0x06;
    public const byte SetDescriptor = 0x07;
    public const byte GetConfiguration = 0x08;
    public const byte SetConfiguration = 0x09;
    public const byte GetInterface = 0x0A;
    public const byte SetInterface = 0x0B;
    public const byte SynchFrame = 0x0C;

    public const ushort FeatureEndpointHalt = 0;
    public const ushort FeatureDeviceRemoteWakeup = 1;
    public const ushort FeatureTestMode = 2;

    public const byte TypeStandard = 0;
    public const byte TypeClass = 1;
    public const byte TypeVendor = 2;

    public const byte RecipientDevice = 0;
    public const byte RecipientInterface = 1;
    public const byte RecipientEndpoint = 2;

    /// <summary>Bits 6..5 of bmRequestType.</summary>
    public static byte TypeOf(UsbSetupPacket setup) => (byte)((setup.RequestType >> 5) & 3);

    /// <summary>Bits 4..0 of bmRequestType.</summary>
    public static byte RecipientOf(UsbSetupPacket setup) => (byte)(setup.RequestType & 0x1F);
}
