namespace UsbRedir.Devices.Software;

/// <summary>
/// What a software device looks like at one bus speed. <see cref="DescriptorBuilder"/> turns it into the bytes a host
/// reads; a high-speed device supplies two of these (high and full speed) so it can answer the device qualifier and
/// other-speed configuration requests.
/// </summary>
public sealed record UsbDeviceDefinition(
    ushort VendorId,
    ushort ProductId,
    ushort DeviceRelease,
    byte DeviceClass,
    byte DeviceSubClass,
    byte DeviceProtocol,
    byte MaxPacketSize0,
    string Manufacturer,
    string Product,
    string? SerialNumber,
    IReadOnlyList<UsbConfigurationDefinition> Configurations);

/// <summary>One configuration. <paramref name="Attributes"/> holds the optional bmAttributes bits (self powered 0x40, remote wakeup 0x20); bit 7 is always set.</summary>
public sealed record UsbConfigurationDefinition(
    byte Value,
    string? Name,
    byte Attributes,
    ushort MaxPowerMilliamps,
    IReadOnlyList<UsbInterfaceDefinition> Interfaces)
{
    public const byte SelfPowered = 0x40;
    public const byte RemoteWakeup = 0x20;
}

/// <summary>
/// One alternate setting of an interface. <see cref="ClassDescriptors"/> are written between the interface
/// descriptor and its endpoints (e.g. the HID descriptor).
/// </summary>
public sealed record UsbInterfaceDefinition(
    byte Number,
    byte AlternateSetting,
    byte InterfaceClass,
    byte InterfaceSubClass,
    byte InterfaceProtocol,
    string? Name,
    IReadOnlyList<UsbEndpointDefinition> Endpoints)
{
    public ReadOnlyMemory<byte> ClassDescriptors { get; init; }
}

/// <summary>
/// One endpoint; <paramref name="Interval"/> is in the encoding of the definition's speed (frames at low/full, 2^(n-1) microframes at high).
/// <paramref name="MaxPacketSize"/> is the size of one transaction (wMaxPacketSize bits 0-10).
/// </summary>
public sealed record UsbEndpointDefinition(byte Address, UsbEndpointType Type, ushort MaxPacketSize, byte Interval)
{
    public bool IsIn => (Address & 0x80) != 0;

    /// <summary>Iso only: how the endpoint keeps its data rate in step with the bus (bmAttributes bits 2-3).</summary>
    public UsbIsoSynchronization Synchronization { get; init; }

    /// <summary>Iso only: data, explicit feedback or implicit feedback data (bmAttributes bits 4-5).</summary>
    public UsbIsoUsage Usage { get; init; }

    /// <summary>
    /// High-speed iso and interrupt only: transactions per microframe beyond the first, 0-2 (wMaxPacketSize bits 11-12),
    /// so a high-bandwidth endpoint moves up to 3 × <see cref="MaxPacketSize"/> bytes per interval.
    /// </summary>
    public byte AdditionalTransactions { get; init; }

    /// <summary>bmAttributes as the endpoint descriptor carries it.</summary>
    public byte Attributes => (byte)((byte)Type | (byte)Synchronization << 2 | (byte)Usage << 4);

    /// <summary>wMaxPacketSize as the endpoint descriptor carries it.</summary>
    public ushort WMaxPacketSize => (ushort)(MaxPacketSize | AdditionalTransactions << 11);

    /// <summary>The most data one (micro)frame interval moves: one packet of an isochronous transfer.</summary>
    public int MaxPayloadPerInterval => MaxPacketSize * (1 + AdditionalTransactions);
}
