namespace UsbRedir.Filtering;

/// <summary>
/// libvirt's virStrToLong_i / virStrToLong_ui (strtol/strtoul with errno, "no digits" and int-range checks) and
/// virDomainRedirFilterUSBVersionHelper, so &lt;usbdev&gt; attributes are accepted or rejected exactly as libvirt does.
/// </summary>
internal static class LibvirtNumbers
{
    /// <summary>virStrToLong_i(s, NULL, 0, &amp;result): the whole string must be one C integer that fits an int.</summary>
    public static bool TryParseInt(string s, out int result)
    {
        result = 0;
        var bytes = FilterStringParser.CString(s);
        if (!CStrtol.TryStrtol(bytes, 0, out var value, out var end, out var overflow))
            return false;
        if (overflow || end != bytes.Length || value is < int.MinValue or > int.MaxValue)
            return false;
        result = (int)value;
        return true;
    }

    /// <summary>
    /// virDomainRedirFilterUSBVersionHelper: "JJ.MN" with decimal parts below 100 becomes BCD 0xJJMN;
    /// a single minor digit means tenths ("2.5" is 0x0250).
    /// </summary>
    public static bool TryParseVersion(string s, out int bcd)
    {
        bcd = 0;
        var bytes = FilterStringParser.CString(s);
        // The major part is virStrToLong_ui with an end pointer: only "no digits" and range are errors there.
        if (!TryStrtoulAsUInt(bytes, out var major, out var end) || end >= bytes.Length || bytes[end] != '.')
            return false;
        var minorText = bytes[(end + 1)..];
        if (!TryStrtoulAsUInt(minorText, out var minor, out var minorEnd) || minorEnd != minorText.Length)
            return false;
        if (major >= 100 || minor >= 100)
            return false;
        if (minorText.Length == 1)
            minor *= 10;
        bcd = (int)((major / 10) << 12 | (major % 10) << 8 | (minor / 10) << 4 | (minor % 10));
        return true;
    }

    /// <summary>virStrToLong_ui base 10: strtoul, with "-N" allowed as 2^32 - N (N ≤ UINT_MAX) on LP64.</summary>
    private static bool TryStrtoulAsUInt(byte[] s, out uint result, out int end)
    {
        result = 0;
        if (!CStrtol.TryStrtoul(s, 10, out var value, out end, out var overflow, out var negative) || overflow)
            return false;
        if (negative)
        {
            var magnitude = 0 - value;
            if (magnitude > uint.MaxValue)
                return false;
            value &= 0xffffffff;
        }
        if (value > uint.MaxValue)
            return false;
        result = (uint)value;
        return true;
    }
}
