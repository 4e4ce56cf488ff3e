using System.Text;
using UsbRedir.Filtering;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The usbredir filter string parser and checker, in the shape of usbredir's usbredirfilterfuzz: the first bytes
/// describe a device (from fields, or from raw device and configuration descriptors) and the check flags, and choose
/// the separators (wire, QEMU's, or arbitrary ones from the input); the rest is the filter text. Rules that parse must
/// verify, format, and read back to the same rules (in the string form and in libvirt's XML), and checking them against
/// the device must give a decision that names its deciding rule.
/// </summary>
/// <remarks>Expected: <see cref="UsbRedirException"/> with one of the filter engine's ErrorIds.</remarks>
internal static class FilterTarget
{
    private static readonly HashSet<string> FilterErrorIds =
    [
        UsbRedirFilterErrorIds.FilterSyntax, UsbRedirFilterErrorIds.FilterTokenCount, UsbRedirFilterErrorIds.FilterValueOutOfRange,
        UsbRedirFilterErrorIds.FilterSeparatorEmpty, UsbRedirFilterErrorIds.FilterDeviceInvalid,
    ];

    public static void Run(byte[] data)
    {
        var input = new FuzzInput(data);
        var flags = (UsbRedirFilterCheckFlags)(input.Byte() & 3);
        var device = Device(input);
        var separators = (input.Byte() % 4) switch
        {
            0 => UsbRedirFilterSeparators.Wire,
            1 => UsbRedirFilterSeparators.Qemu,
            2 => new UsbRedirFilterSeparators(",;", "|\n"),
            _ => new UsbRedirFilterSeparators(Text(input.Bytes(input.Range(4))), Text(input.Bytes(input.Range(4)))),
        };
        var text = Text(input.Rest());

        if (!UsbRedirFilter.TryParse(text, separators, out var rules, out var error))
        {
            Invariant.Check(rules.Count == 0 && error is not null && error.Code == UsbRedirFilterError.EInval, "a failed parse left rules or no error");
            Expect(() => UsbRedirFilter.Parse(text, separators), shouldThrow: true);
            return;
        }
        Invariant.Check(UsbRedirFilter.Verify(rules) is null, "parsed rules do not verify");
        var formatted = UsbRedirFilter.Format(rules, separators);
        // As in C, text formatted with separators that numbers are made of (0-9, a-f, x, -), or with one character in
        // both sets, does not read back; any other text must.
        if (RoundTrips(separators))
        {
            Invariant.Check(UsbRedirFilter.TryParse(formatted, separators, out var again, out var againError),
                $"'{formatted}' (formatted from parsed rules) does not parse: {againError}");
            Invariant.Check(again.SequenceEqual(rules), $"'{formatted}' reads back as other rules");
        }
        var wire = UsbRedirFilter.Format(rules);
        Invariant.Check(UsbRedirFilter.Parse(wire).SequenceEqual(rules), $"'{wire}' reads back as other rules");

        // libvirt's XML form: a version with a BCD digit above 9 has no JJ.MN spelling (documented FilterValueOutOfRange).
        string? xml = null;
        try
        {
            xml = UsbRedirFilterXml.Format(rules);
        }
        catch (UsbRedirException e) when (e.ErrorId == UsbRedirFilterErrorIds.FilterValueOutOfRange)
        {
        }
        if (xml is not null)
            Invariant.Check(UsbRedirFilterXml.Parse(xml).SequenceEqual(rules), $"the XML {xml} reads back as other rules");

        if (device is null)
            return;
        var result = UsbRedirFilter.Check(rules, device, flags);
        _ = result.Message;
        Invariant.Check(result.Decision is UsbRedirFilterDecision.Allowed or UsbRedirFilterDecision.Denied or UsbRedirFilterDecision.NoMatch,
            $"decision {result.Decision} for valid rules");
        if (result.Decision == UsbRedirFilterDecision.Denied)
            Invariant.Check(result.Rule is { Allow: false } && rules[result.RuleIndex] == result.Rule, "a denial that names no blocking rule");
    }

    private static UsbRedirFilterDevice? Device(FuzzInput input)
    {
        var kind = input.Byte() % 3;
        if (kind == 0)
            return null;
        if (kind == 1)
        {
            var @class = input.Byte();
            var sub = input.Byte();
            var protocol = input.Byte();
            var vendor = input.UInt16();
            var product = input.UInt16();
            var version = input.UInt16();
            var interfaces = new UsbRedirFilterInterface[input.Range(32)];
            for (var i = 0; i < interfaces.Length; i++)
                interfaces[i] = new UsbRedirFilterInterface(input.Byte(), input.Byte(), input.Byte());
            return new UsbRedirFilterDevice(@class, sub, protocol, vendor, product, version, interfaces);
        }
        // Raw descriptors, as usbredirhost's check reads a device: 18 bytes, then a configuration of up to 255 + 255.
        var deviceDescriptor = input.Bytes(input.Range(20));
        var configuration = input.Bytes(input.Range(510));
        try
        {
            return UsbRedirFilterDevice.FromDescriptors(deviceDescriptor, configuration);
        }
        catch (UsbRedirException e) when (e.ErrorId == UsbRedirFilterErrorIds.FilterDeviceInvalid)
        {
            return null;
        }
    }

    private static bool RoundTrips(UsbRedirFilterSeparators separators)
    {
        var token = Encoding.UTF8.GetBytes(separators.TokenSeparators.Split('\0')[0]);
        var rule = Encoding.UTF8.GetBytes(separators.RuleSeparators.Split('\0')[0]);
        return !token.Intersect(rule).Any() && !token.Concat(rule).Any(b => "0123456789abcdefx-"u8.Contains(b));
    }

    private static void Expect(Action action, bool shouldThrow)
    {
        try
        {
            action();
        }
        catch (UsbRedirException e) when (FilterErrorIds.Contains(e.ErrorId))
        {
            Invariant.Check(shouldThrow && !string.IsNullOrEmpty(e.Message) && !string.IsNullOrEmpty(e.RecommendedAction),
                $"{e.ErrorId} without a message or a fix");
            return;
        }
        Invariant.Check(!shouldThrow, "Parse did not throw where TryParse failed");
    }

    /// <summary>The filter engine takes .NET strings; C reads bytes. Latin-1 keeps every byte one character, and so
    /// reaches the parser's UTF-8 handling only through characters above 0x7f.</summary>
    private static string Text(byte[] bytes) => Encoding.Latin1.GetString(bytes);
}
