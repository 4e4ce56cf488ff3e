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
}
