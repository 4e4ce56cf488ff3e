using System.Buffers.Binary;
using UsbRedir.Devices;

namespace UsbRedir.Filtering;

/// <summary>
/// What usbredirfilter_check looks at: the device descriptor's class triple, ids and bcdDevice, and the class
/// triple of every interface. The device subclass and protocol are carried for completeness; C ignores them.
/// </summary>
public sealed class UsbRedirFilterDevice
{
    public UsbRedirFilterDevice(byte @class, byte subClass, byte protocol, ushort vendorId, ushort productId,
        ushort version, params UsbRedirFilterInterface[] interfaces)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        Class = @class;
        SubClass = subClass;
        Protocol = protocol;
        VendorId = vendorId;
        ProductId = productId;
        Version = version;
        Interfaces = Array.AsReadOnly(interfaces.Select(i => i ?? throw new ArgumentNullException(nameof(interfaces))).ToArray());
    }

    /// <summary>bDeviceClass (0x00 "per interface" and 0xEF "misc/IAD" skip the device pass).</summary>
    public byte Class { get; }

    public byte SubClass { get; }

    public byte Protocol { get; }

    public ushort VendorId { get; }

    public ushort ProductId { get; }

    /// <summary>bcdDevice, e.g. 0x0100 for version 1.00.</summary>
    public ushort Version { get; }

    public IReadOnlyList<UsbRedirFilterInterface> Interfaces { get; }

    /// <summary>"class:vendor:product:version" in hex plus the interfaces, e.g. "08:0781:5567:0100 [08/06/50]".</summary>
    public override string ToString() =>
        $"{Class:x2}:{VendorId:x4}:{ProductId:x4}:{Version:x4}"
        + (Interfaces.Count == 0 ? "" : " [" + string.Join(' ', Interfaces) + "]");

    /// <summary>
    /// Reads "class:vendor:product:version" (hex as lsusb prints them, optional 0x prefixes, e.g. "08:0781:5567:0100")
    /// and attaches the given interfaces. The device subclass and protocol are set to 0 (the check ignores them).
    /// </summary>
    /// <exception cref="UsbRedirException">FilterDeviceInvalid when the text is not four hex fields in range.</exception>
    public static UsbRedirFilterDevice Parse(string text, params UsbRedirFilterInterface[] interfaces)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length != 4)
            throw DeviceText.Invalid(text, "it needs four fields class:vendor:product:version");
        return new UsbRedirFilterDevice(DeviceText.Byte(parts[0], text, "class"), 0, 0,
            DeviceText.Word(parts[1], text, "vendor"), DeviceText.Word(parts[2], text, "product"),
            DeviceText.Word(parts[3], text, "version"), interfaces);
    }

    /// <summary>
    /// Builds the description from raw descriptors the way usbredirhost's filter check does: ids, class and
    /// bcdDevice from the 18-byte device descriptor; for each interface of the active configuration, its first
    /// alternate setting (libusb's altsetting[0]). Pass an empty configuration for an unconfigured device.
    /// Corrupt descriptor lengths end the walk (as in libusb); at most 32 interfaces are read.
    /// </summary>
    /// <exception cref="UsbRedirException">FilterDeviceInvalid when the device descriptor is not a device descriptor.</exception>
    public static UsbRedirFilterDevice FromDescriptors(ReadOnlySpan<byte> deviceDescriptor, ReadOnlySpan<byte> activeConfiguration)
    {
        if (deviceDescriptor.Length < 18 || deviceDescriptor[1] != 1)
            throw new UsbRedirException(UsbRedirFilterErrorIds.FilterDeviceInvalid, UsbRedirErrorCategory.InvalidData,
                $"Cannot check the filter: the device descriptor is {deviceDescriptor.Length} bytes"
                + (deviceDescriptor.Length >= 2 ? $" of type {deviceDescriptor[1]}" : "") + ", not an 18-byte device descriptor (type 1).",
                "Re-plug the device or check its driver; its descriptors could not be read correctly.");
        var interfaces = new List<UsbRedirFilterInterface>();
        var seen = new HashSet<byte>();
        foreach (var d in new UsbDescriptorWalk(activeConfiguration))
        {
            if (interfaces.Count >= 32)
                break;
            if (d[1] == 4 && d.Length >= 9 && seen.Add(d[2]))
                interfaces.Add(new UsbRedirFilterInterface(d[5], d[6], d[7]));
        }
        return new UsbRedirFilterDevice(deviceDescriptor[4], deviceDescriptor[5], deviceDescriptor[6],
            BinaryPrimitives.ReadUInt16LittleEndian(deviceDescriptor[8..]), BinaryPrimitives.ReadUInt16LittleEndian(deviceDescriptor[10..]),
            BinaryPrimitives.ReadUInt16LittleEndian(deviceDescriptor[12..]), interfaces.ToArray());
    }

    /// <summary>
    /// The description of an <see cref="IUsbDevice"/>: its device descriptor and the configuration descriptor whose
    /// bConfigurationValue is <see cref="IUsbDevice.ActiveConfiguration"/> (none when unconfigured).
    /// </summary>
    public static UsbRedirFilterDevice FromUsbDevice(IUsbDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var active = device.ConfigurationDescriptors.FirstOrDefault(c => c.Length >= 6 && device.ActiveConfiguration != 0
            && c.Span[5] == device.ActiveConfiguration);
        return FromDescriptors(device.DeviceDescriptor.Span, active.Span);
    }

    /// <summary>
    /// The description of <paramref name="device"/> in each of its configurations (the device alone when it has none): what
    /// a peer could make of it whichever configuration it sets. A check that must hold for the device whatever happens to
    /// it later (a listening exporter's per-peer rules) passes only when it passes for all of them.
    /// </summary>
    public static IEnumerable<UsbRedirFilterDevice> InEveryConfiguration(IUsbDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.ConfigurationDescriptors.Count == 0)
        {
            yield return FromDescriptors(device.DeviceDescriptor.Span, default);
            yield break;
        }
        foreach (var configuration in device.ConfigurationDescriptors)
            yield return FromDescriptors(device.DeviceDescriptor.Span, configuration.Span);
    }
}
