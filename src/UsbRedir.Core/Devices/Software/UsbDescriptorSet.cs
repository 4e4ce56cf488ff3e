namespace UsbRedir.Devices.Software;

/// <summary>The descriptor bytes of a software device, built once by <see cref="DescriptorBuilder"/>.</summary>
public sealed class UsbDescriptorSet
{
    internal UsbDescriptorSet(UsbDeviceDefinition definition, byte[] device, IReadOnlyList<ReadOnlyMemory<byte>> configurations,
        byte[]? deviceQualifier, IReadOnlyList<ReadOnlyMemory<byte>> otherSpeedConfigurations, IReadOnlyList<ReadOnlyMemory<byte>> strings,
        byte[]? bos = null)
    {
        // A null array would convert to an empty (but present) memory: keep absent descriptors absent, so they stall.
        Bos = bos is null ? (ReadOnlyMemory<byte>?)null : bos;
        Definition = definition;
        Device = device;
        Configurations = configurations;
        DeviceQualifier = deviceQualifier is null ? (ReadOnlyMemory<byte>?)null : deviceQualifier;
        OtherSpeedConfigurations = otherSpeedConfigurations;
        Strings = strings;
    }

    /// <summary>The definition at the operating speed; the device's endpoints are looked up here.</summary>
    public UsbDeviceDefinition Definition { get; }

    public ReadOnlyMemory<byte> Device { get; }

    public IReadOnlyList<ReadOnlyMemory<byte>> Configurations { get; }

    /// <summary>Null for a device that only works at its operating speed (full or low speed): the host gets a stall.</summary>
    public ReadOnlyMemory<byte>? DeviceQualifier { get; }

    /// <summary>Empty unless <see cref="DeviceQualifier"/> is present.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> OtherSpeedConfigurations { get; }

    /// <summary>The BOS descriptor with its device capabilities (SuperSpeed devices); null for a USB 2.0 device, which stalls the request.</summary>
    public ReadOnlyMemory<byte>? Bos { get; }

    /// <summary>String descriptors by index; index 0 is the language table.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Strings { get; }
}
