using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

/// <summary>
/// What the usbredir host role reports about a device's active configuration: the interfaces
/// (interface_info) and, per endpoint index, type, interval, owning interface, max packet size and
/// streams (ep_info). Built from raw descriptors the way usbredirhost does it, tolerating the broken
/// descriptors real devices ship (bad lengths are skipped, nothing reads past the buffer).
/// </summary>
public sealed class DeviceLayout
{
    /// <summary>usbredir allows at most 32 interfaces (the arrays in interface_info).</summary>
    public const int MaxInterfaces = 32;

    /// <summary>Endpoint index as usbredir numbers them: OUT 0–15 are 0–15, IN 0x80–0x8F are 16–31 (ep_info's order).</summary>
    public static int EndpointIndex(byte address) => EpInfoHeader.IndexOf(address);

    public static byte EndpointAddress(int index) => EpInfoHeader.AddressOf(index);

    public DeviceLayout()
    {
        Array.Fill(EndpointType, UsbEndpointType.Invalid);
        // EP0 is a control endpoint in both directions.
        EndpointType[0] = EndpointType[16] = UsbEndpointType.Control;
    }

    public List<InterfaceEntry> Interfaces { get; } = [];

    public UsbEndpointType[] EndpointType { get; } = new UsbEndpointType[32];
    public byte[] EndpointInterval { get; } = new byte[32];
    public byte[] EndpointInterface { get; } = new byte[32];
    public ushort[] EndpointMaxPacketSize { get; } = new ushort[32];
    public uint[] EndpointMaxStreams { get; } = new uint[32];

    public readonly record struct InterfaceEntry(byte Number, byte AlternateSetting, byte Class, byte SubClass, byte Protocol);

    /// <summary>The layout of <paramref name="device"/>'s active configuration and alternate settings (only EP0 when unconfigured).</summary>
    public static DeviceLayout ForActiveConfiguration(IUsbDevice device)
    {
        var active = device.ActiveConfiguration;
        foreach (var config in device.ConfigurationDescriptors)
            if (config.Length > 5 && config.Span[5] == active)
                return FromConfiguration(config.Span, device.GetAlternateSetting, device.Speed);
        return new DeviceLayout();
    }

    /// <summary>
    /// The layout a usb-host peer announced (the usb-guest side): interfaces from interface_info, endpoints from ep_info.
    /// Either may still be missing (null); alternate settings are not on the wire and read 0.
    /// </summary>
    public static DeviceLayout FromAnnouncement(Protocol.InterfaceInfoHeader? interfaces, Protocol.EpInfoHeader? endpoints)
    {
        var layout = new DeviceLayout();
        if (interfaces is not null)
        {
            var count = (int)Math.Min(interfaces.InterfaceCount, MaxInterfaces);
            for (var i = 0; i < count; i++)
                layout.Interfaces.Add(new InterfaceEntry(interfaces.InterfaceNumbers[i], 0, interfaces.InterfaceClasses[i],
                    interfaces.InterfaceSubclasses[i], interfaces.InterfaceProtocols[i]));
        }
        if (endpoints is not null)
        {
            for (var i = 0; i < 32; i++)
            {
                layout.EndpointType[i] = (UsbEndpointType)endpoints.Types[i] is var t && Enum.IsDefined(t) ? t : UsbEndpointType.Invalid;
                layout.EndpointInterval[i] = endpoints.Intervals[i];
                layout.EndpointInterface[i] = endpoints.Interfaces[i];
                layout.EndpointMaxPacketSize[i] = endpoints.MaxPacketSizes?[i] ?? 0;
                layout.EndpointMaxStreams[i] = endpoints.MaxStreams?[i] ?? 0;
            }
        }
        return layout;
    }

    /// <summary>
    /// Reads a configuration descriptor, taking for each interface the alternate setting <paramref name="alternateOf"/> names.
    /// EP0's max packet size stays 0, as usbredirhost announces it (observed in a VM against libusbredirhost): only endpoint
    /// descriptors fill the field (bMaxPacketSize0 is not even in bytes on SuperSpeed: 9 there means 512).
    /// </summary>
    public static DeviceLayout FromConfiguration(ReadOnlySpan<byte> configuration, Func<byte, byte> alternateOf, UsbSpeed speed)
    {
        var layout = new DeviceLayout();
        var seen = new HashSet<byte>();
        var inSelectedAlt = false;
        byte currentInterface = 0;
        int lastEndpointIndex = -1;
        foreach (var d in new UsbDescriptorWalk(configuration)) // a corrupt descriptor ends the walk, as in libusb
        {
            var length = d.Length;
            switch (d[1])
            {
                case 4 when length >= 9: // INTERFACE
                    currentInterface = d[2];
                    inSelectedAlt = d[3] == alternateOf(currentInterface);
                    lastEndpointIndex = -1;
                    if (inSelectedAlt && seen.Add(currentInterface) && layout.Interfaces.Count < MaxInterfaces)
                        layout.Interfaces.Add(new InterfaceEntry(d[2], d[3], d[5], d[6], d[7]));
                    break;
                case 5 when length >= 7 && inSelectedAlt: // ENDPOINT
                    var address = d[2];
                    var index = EndpointIndex(address);
                    var wMaxPacketSize = BinaryPrimitives.ReadUInt16LittleEndian(d[4..]);
                    var epType = (UsbEndpointType)(d[3] & 0x03);
                    layout.EndpointType[index] = epType;
                    layout.EndpointInterval[index] = d[6];
                    layout.EndpointInterface[index] = currentInterface;
                    var size = wMaxPacketSize & 0x7FF;
                    // High-speed high-bandwidth iso moves up to 3 packets per microframe (bits 11-12).
                    if (speed == UsbSpeed.High && epType == UsbEndpointType.Isochronous)
                        size *= 1 + ((wMaxPacketSize >> 11) & 0x3);
                    layout.EndpointMaxPacketSize[index] = (ushort)size;
                    lastEndpointIndex = index;
                    break;
                case 0x30 when length >= 6 && inSelectedAlt && lastEndpointIndex >= 0: // SUPERSPEED ENDPOINT COMPANION
                    // MaxStreams 0 means no streams (not 2^0), as usbredirhost reads it.
                    if (layout.EndpointType[lastEndpointIndex] == UsbEndpointType.Bulk && (d[3] & 0x1F) is > 0 and var exponent)
                        layout.EndpointMaxStreams[lastEndpointIndex] = 1u << exponent;
                    break;
            }
        }
        return layout;
    }
}
