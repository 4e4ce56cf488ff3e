namespace UsbRedir.Filtering;

/// <summary>
/// usbredirfilter_check: a device-class pass (not for class 0x00/0xEF), one pass per interface (skipping
/// non-boot HID interfaces of multi-interface devices unless told not to), and a second round with that skip
/// disabled when every interface was skipped. Records each pass so users can see which rule decided.
/// </summary>
internal static class FilterChecker
{
    public static UsbRedirFilterCheckResult Check(IReadOnlyList<UsbRedirFilterRule> rules, UsbRedirFilterDevice device,
        UsbRedirFilterCheckFlags flags)
    {
        var invalid = UsbRedirFilter.Verify(rules);
        if (invalid is not null)
            return new(UsbRedirFilterDecision.InvalidRules, null, [], invalid);
        var passes = new List<UsbRedirFilterPass>();
        return Round(rules, device, flags, passes, isRecheck: false);
    }

    private static UsbRedirFilterCheckResult Round(IReadOnlyList<UsbRedirFilterRule> rules, UsbRedirFilterDevice device,
        UsbRedirFilterCheckFlags flags, List<UsbRedirFilterPass> passes, bool isRecheck)
    {
        UsbRedirFilterPass? lastRun = null;
        if (device.Class is not (0x00 or 0xef))
        {
            var pass = MatchPass(rules, device, UsbRedirFilterPassKind.Device, -1, device.Class, flags, isRecheck);
            passes.Add(pass);
            if (Ends(pass))
                return Ended(pass, passes);
            lastRun = pass;
        }
        else
        {
            passes.Add(new(UsbRedirFilterPassKind.Device, -1, device.Class, UsbRedirFilterPassOutcome.Skipped, -1, null, isRecheck));
        }

        var skipped = 0;
        var interfaces = device.Interfaces;
        for (var i = 0; i < interfaces.Count; i++)
        {
            if ((flags & UsbRedirFilterCheckFlags.DontSkipNonBootHid) == 0 && interfaces.Count > 1 && interfaces[i].IsNonBootHid)
            {
                skipped++;
                passes.Add(new(UsbRedirFilterPassKind.Interface, i, interfaces[i].Class, UsbRedirFilterPassOutcome.Skipped, -1, null, isRecheck));
                continue;
            }
            var pass = MatchPass(rules, device, UsbRedirFilterPassKind.Interface, i, interfaces[i].Class, flags, isRecheck);
            passes.Add(pass);
            if (Ends(pass))
                return Ended(pass, passes);
            lastRun = pass;
        }

        // Every interface skipped (e.g. a KVM switch made only of non-boot HID interfaces): check them after all,
        // so such a device cannot slip past a rule that blocks class 3.
        if (interfaces.Count > 0 && skipped == interfaces.Count)
            return Round(rules, device, flags | UsbRedirFilterCheckFlags.DontSkipNonBootHid, passes, isRecheck: true);

        return new(UsbRedirFilterDecision.Allowed, lastRun, passes.AsReadOnly(), null);
    }

    /// <summary>usbredirfilter_check1: the first rule matching class, ids and version decides.</summary>
    private static UsbRedirFilterPass MatchPass(IReadOnlyList<UsbRedirFilterRule> rules, UsbRedirFilterDevice device,
        UsbRedirFilterPassKind kind, int interfaceIndex, byte @class, UsbRedirFilterCheckFlags flags, bool isRecheck)
    {
        for (var r = 0; r < rules.Count; r++)
        {
            var rule = rules[r];
            if ((rule.Class == -1 || rule.Class == @class)
                && (rule.VendorId == -1 || rule.VendorId == device.VendorId)
                && (rule.ProductId == -1 || rule.ProductId == device.ProductId)
                && (rule.Version == -1 || rule.Version == device.Version))
            {
                return new(kind, interfaceIndex, @class,
                    rule.Allow ? UsbRedirFilterPassOutcome.Allowed : UsbRedirFilterPassOutcome.Denied, r, rule, isRecheck);
            }
        }
        var outcome = (flags & UsbRedirFilterCheckFlags.DefaultAllow) != 0
            ? UsbRedirFilterPassOutcome.DefaultAllowed
            : UsbRedirFilterPassOutcome.NoMatch;
        return new(kind, interfaceIndex, @class, outcome, -1, null, isRecheck);
    }

    private static bool Ends(UsbRedirFilterPass pass) =>
        pass.Outcome is UsbRedirFilterPassOutcome.Denied or UsbRedirFilterPassOutcome.NoMatch;

    private static UsbRedirFilterCheckResult Ended(UsbRedirFilterPass pass, List<UsbRedirFilterPass> passes) =>
        new(pass.Outcome == UsbRedirFilterPassOutcome.Denied ? UsbRedirFilterDecision.Denied : UsbRedirFilterDecision.NoMatch,
            pass, passes.AsReadOnly(), null);
}
