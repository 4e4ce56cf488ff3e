namespace UsbRedir.Devices.Local;

/// <summary>
/// USB-IF base class codes (usb.org "Defined Class Codes") and their names, the one table both front ends show.
/// </summary>
public static class UsbClassCodes
{
    /// <summary>bDeviceClass 0: each interface names its own class.</summary>
    public const byte PerInterface = 0x00;

    public const byte Audio = 0x01;

    public const byte Communications = 0x02;

    public const byte Hid = 0x03;

    public const byte MassStorage = 0x08;

    public const byte Hub = 0x09;

    /// <summary>bDeviceClass 0xEF (with subclass 2, protocol 1: a composite device whose functions are grouped by interface association descriptors).</summary>
    public const byte Miscellaneous = 0xEF;

    public const byte VendorSpecific = 0xFF;

    /// <summary>"Mass Storage", "HID", "Hub", ...; "Class 0x42" for a code the table does not know.</summary>
    public static string Name(byte code) => code switch
    {
        0x00 => "Per Interface",
        0x01 => "Audio",
        0x02 => "Communications",
        0x03 => "HID",
        0x05 => "Physical",
        0x06 => "Image",
        0x07 => "Printer",
        0x08 => "Mass Storage",
        0x09 => "Hub",
        0x0A => "CDC Data",
        0x0B => "Smart Card",
        0x0D => "Content Security",
        0x0E => "Video",
        0x0F => "Personal Healthcare",
        0x10 => "Audio/Video",
        0x11 => "Billboard",
        0x12 => "Type-C Bridge",
        0x13 => "Bulk Display",
        0x14 => "MCTP",
        0x3C => "I3C",
        0xDC => "Diagnostic",
        0xE0 => "Wireless",
        0xEF => "Miscellaneous",
        0xFE => "Application Specific",
        0xFF => "Vendor Specific",
        _ => $"Class 0x{code:x2}",
    };
}
