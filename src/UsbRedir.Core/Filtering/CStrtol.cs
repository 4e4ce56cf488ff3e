namespace UsbRedir.Filtering;

/// <summary>
/// glibc <c>strtol</c>/<c>strtoul</c> in the C locale, on bytes so that any input behaves as it does in C:
/// leading isspace, an optional sign, and for base 0 a "0x" prefix (only when a hex digit follows) or a
/// leading "0" meaning octal.
/// </summary>
internal static class CStrtol
{
    /// <summary>
    /// strtol(s, &amp;end, 0) then the LP64 long → int store that usbredirfilter_string_to_rules does
    /// (4294967295 → -1). <paramref name="end"/> is 0 when no conversion happened (glibc sets endptr = nptr).
    /// </summary>
    public static int ParseBase0(ReadOnlySpan<byte> s, out int end)
    {
        TryStrtol(s, 0, out var value, out end, out _);
        return unchecked((int)value);
    }

    /// <summary>strtol: false when there are no digits; on overflow the value saturates and <paramref name="overflow"/> is set (ERANGE).</summary>
    public static bool TryStrtol(ReadOnlySpan<byte> s, int radix, out long value, out int end, out bool overflow)
    {
        value = 0;
        if (!Scan(s, radix, out var negative, out var magnitude, out end, out overflow))
            return false;
        if (!overflow && magnitude > (negative ? 1UL << 63 : long.MaxValue))
            overflow = true;
        value = overflow ? (negative ? long.MinValue : long.MaxValue)
            : negative ? unchecked((long)(0 - magnitude)) : (long)magnitude;
        return true;
    }

    /// <summary>strtoul: false when there are no digits; a '-' negates in unsigned arithmetic, as C does.</summary>
    public static bool TryStrtoul(ReadOnlySpan<byte> s, int radix, out ulong value, out int end, out bool overflow, out bool negative)
    {
        value = 0;
        if (!Scan(s, radix, out negative, out var magnitude, out end, out overflow))
            return false;
        value = overflow ? ulong.MaxValue : negative ? 0 - magnitude : magnitude;
        return true;
    }

    /// <summary>The shared part: whitespace, sign, prefix and digits, accumulated in 64-bit unsigned arithmetic.</summary>
    private static bool Scan(ReadOnlySpan<byte> s, int radix, out bool negative, out ulong magnitude, out int end, out bool overflow)
    {
        negative = false;
        magnitude = 0;
        overflow = false;
        end = 0;
        var i = 0;
        while (i < s.Length && IsCSpace(s[i]))
            i++;
        if (i < s.Length && s[i] is (byte)'+' or (byte)'-')
        {
            negative = s[i] == '-';
            i++;
        }
        if ((radix == 0 || radix == 16) && i + 2 < s.Length && s[i] == '0' && (s[i + 1] | 0x20) == 'x' && DigitValue(s[i + 2]) < 16)
        {
            // "0x" is a prefix only when a hex digit follows; otherwise the "0" alone is parsed and the
            // end lands on the 'x'.
            radix = 16;
            i += 2;
        }
        else if (radix == 0)
        {
            radix = i < s.Length && s[i] == '0' ? 8 : 10;
        }
        var digitsStart = i;
        for (; i < s.Length; i++)
        {
            var d = DigitValue(s[i]);
            if (d >= radix)
                break;
            if (!overflow)
            {
                if (magnitude > (ulong.MaxValue - (ulong)d) / (ulong)radix)
                    overflow = true;
                else
                    magnitude = magnitude * (ulong)radix + (ulong)d;
            }
        }
        if (i == digitsStart)
        {
            negative = false;
            return false;
        }
        end = i;
        return true;
    }

    /// <summary>isspace() in the C locale.</summary>
    public static bool IsCSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    private static int DigitValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'z' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'Z' => b - 'A' + 10,
        _ => int.MaxValue,
    };
}
