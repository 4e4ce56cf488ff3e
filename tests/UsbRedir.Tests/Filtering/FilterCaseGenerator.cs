using System.Globalization;
using System.Text;
using UsbRedir.Filtering;

namespace UsbRedir.Tests.Filtering;

/// <summary>
/// Seeded generator of hostile filter strings, rule sets and devices for the differential tests: numbers in every
/// base with signs and whitespace, huge values, bad tokens, wrong field counts, mixed separator sets.
/// </summary>
internal sealed class FilterCaseGenerator(int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>Separator set pairs (token, rule), including multi-character and whitespace sets.</summary>
    public static readonly (string Token, string Rule)[] SeparatorSets =
    [
        (",", "|"), (":", "|"), (",;", " \t\n"), (" ", "\n"), (",", ",|"), ("|", ","), (":,", "|;"), ("x", "|"),
        ("0", "|"), ("-", "|"), ("\t", "\r\n"), (",", ""), ("", "|"), ("\0,", "|"), (",", "\0|"),
    ];

    private static readonly string[] OddTokens =
    [
        "", " ", "0x", "0X", "-", "+", "a", "#", "08", "09", "0b1", "0B1", "1e3", "1.0", "0x1g", "--1", "+-1", "- 1",
        "0x-1", "٣", "é", "\u00a0" + "1", "1\u00a0", "0xffffffffffffffffff", "-0x8000000000000000", "0x7fffffffffffffff",
        "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809", "9223372036854775807",
        "4294967295", "4294967296", "-4294967295", "-4294967296", "0x1ffffffff", "0x100000000", "037777777777", "2147483648",
        "-2147483649", "0xFFFF", "0x10000", "65535", "65536", "0xff", "0x100", "256", "255", "-1", "-2", "0", "00", "000",
        "0x0", "0x00ff", "\v1", "\f1", "\r1", " \t\n1", "1 ", "1\t",
    ];

    public int Next(int max) => _random.Next(max);

    /// <summary>A C integer literal with a random base, sign, padding and leading whitespace.</summary>
    public string Number(long value)
    {
        var negative = value < 0;
        var magnitude = negative ? (ulong)(-(value + 1)) + 1 : (ulong)value;
        var body = Next(4) switch
        {
            0 => "0x" + magnitude.ToString(Next(2) == 0 ? "x" : "X", CultureInfo.InvariantCulture),
            1 => (Next(2) == 0 ? "0X" : "0x") + new string('0', Next(3)) + magnitude.ToString("x", CultureInfo.InvariantCulture),
            2 => "0" + Convert.ToString((long)magnitude, 8),
            _ => magnitude.ToString(CultureInfo.InvariantCulture),
        };
        var sign = negative ? "-" : Next(8) == 0 ? "+" : "";
        var space = Next(10) == 0 ? new[] { " ", "\t", "  ", "\v", "\f", "\r" }[Next(6)] : "";
        return space + sign + body;
    }

    /// <summary>A field value: mostly in range, sometimes at or past an edge, sometimes huge.</summary>
    public long FieldValue(int field) => Next(12) switch
    {
        0 => -1,
        1 => -2,
        2 => field == 0 ? 256 : 65536,
        3 => field == 0 ? 255 : 65535,
        4 => Next(2) == 0 ? 4294967295L : 4294967296L + Next(3) - 1,
        5 => (long)(_random.NextInt64() * (Next(2) == 0 ? 1 : -1)),
        6 => Next(2) == 0 ? -4294967295L : -4294967297L,
        _ => field == 0 ? Next(256) : field == 4 ? Next(3) : Next(65536),
    };

    /// <summary>One token: a number in a random form, or (rarely) an odd token.</summary>
    public string Token(int field) =>
        Next(14) == 0 ? OddTokens[Next(OddTokens.Length)] : Number(FieldValue(field));

    /// <summary>A whole filter string for the given separators, with repeated/leading/trailing separators and bad rules mixed in.</summary>
    public string FilterString(string tokenSeps, string ruleSeps)
    {
        var sb = new StringBuilder();
        var rules = Next(6);
        for (var r = 0; r < rules; r++)
        {
            if (r > 0 || Next(5) == 0)
                sb.Append(Separators(ruleSeps, r > 0 ? 1 : 1));
            var fields = Next(10) switch { 0 => 4, 1 => 6, 2 => Next(8), _ => 5 };
            for (var f = 0; f < fields; f++)
            {
                if (f > 0 || Next(8) == 0)
                    sb.Append(Separators(tokenSeps, 1));
                sb.Append(Token(Math.Min(f, 4)));
            }
            if (Next(8) == 0)
                sb.Append(Separators(tokenSeps, 1));
        }
        if (Next(5) == 0)
            sb.Append(Separators(ruleSeps, 1));
        if (Next(40) == 0)
            sb.Insert(Next(sb.Length + 1), '\0');
        return sb.ToString();
    }

    private string Separators(string set, int min)
    {
        if (set.Length == 0)
            return Next(2) == 0 ? "," : "|";
        var sb = new StringBuilder();
        var count = min + (Next(5) == 0 ? Next(3) : 0);
        for (var i = 0; i < count; i++)
            sb.Append(set[Next(set.Length)]);
        return sb.ToString();
    }

    /// <summary>A rule with raw int fields (possibly out of range) and a raw allow int.</summary>
    public (int Class, int Vendor, int Product, int Version, int Allow) RawRule(bool mostlyValid)
    {
        int Field(int f, int max)
        {
            if (mostlyValid && Next(40) != 0)
                return Next(4) == 0 ? -1 : Next(Math.Min(max + 1, Next(2) == 0 ? 8 : max + 1));
            return Next(6) switch { 0 => -1, 1 => -2, 2 => max + 1, 3 => max, 4 => _random.Next(int.MinValue, int.MaxValue), _ => Next(max + 1) };
        }
        return (Field(0, 255), Field(1, 65535), Field(2, 65535), Field(3, 65535), Next(4) switch { 0 => 0, 1 => 1, 2 => -7, _ => Next(3) });
    }

    /// <summary>A device drawn from a small value pool so that rules match it often.</summary>
    public UsbRedirFilterDevice Device()
    {
        byte[] classes = [0x00, 0xef, 0x03, 0x08, 0x01, 0x09, 0xff, 0x0e, 0x02];
        var interfaces = new UsbRedirFilterInterface[Next(5) == 0 ? 0 : Next(5) + 1];
        for (var i = 0; i < interfaces.Length; i++)
            interfaces[i] = Next(3) == 0
                ? new UsbRedirFilterInterface(3, 0, 0)
                : new UsbRedirFilterInterface(classes[Next(classes.Length)], (byte)Next(3), (byte)Next(3));
        return new UsbRedirFilterDevice(classes[Next(classes.Length)], (byte)Next(3), (byte)Next(3),
            (ushort)Next(4), (ushort)Next(4), (ushort)(Next(3) * 0x100), interfaces);
    }

    /// <summary>A rule drawn from the same small pool as <see cref="Device"/>.</summary>
    public (int Class, int Vendor, int Product, int Version, int Allow) PoolRule()
    {
        int[] classes = [-1, -1, 0x00, 0xef, 0x03, 0x08, 0x01, 0x09, 0xff, 0x0e];
        return (classes[Next(classes.Length)], Next(3) == 0 ? Next(4) : -1, Next(3) == 0 ? Next(4) : -1,
            Next(4) == 0 ? Next(3) * 0x100 : -1, Next(2));
    }
}
