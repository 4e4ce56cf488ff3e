namespace UsbRedir.Filtering;

/// <summary>The result of <see cref="UsbRedirFilter.Check"/>: the decision, the C return code, and which rule decided in which pass.</summary>
public sealed class UsbRedirFilterCheckResult
{
    internal UsbRedirFilterCheckResult(UsbRedirFilterDecision decision, UsbRedirFilterPass? decidingPass,
        IReadOnlyList<UsbRedirFilterPass> passes, UsbRedirFilterError? error)
    {
        Decision = decision;
        DecidingPass = decidingPass;
        Passes = passes;
        Error = error;
    }

    public UsbRedirFilterDecision Decision { get; }

    /// <summary>usbredirfilter_check's return value: 0, -1 (EPERM), -2 (ENOENT) or -22 (EINVAL).</summary>
    public int Code => (int)Decision;

    public bool IsAllowed => Decision == UsbRedirFilterDecision.Allowed;

    /// <summary>
    /// The pass that decided: for Denied/NoMatch the pass that ended the check; for Allowed the last pass that ran
    /// (null when no pass ran, e.g. a class 0x00 device without interfaces); null for InvalidRules.
    /// </summary>
    public UsbRedirFilterPass? DecidingPass { get; }

    /// <summary>0-based index of the rule that decided, or -1 (no rule matched, or no pass ran).</summary>
    public int RuleIndex => DecidingPass?.RuleIndex ?? -1;

    /// <summary>The rule that decided, or null.</summary>
    public UsbRedirFilterRule? Rule => DecidingPass?.Rule;

    /// <summary>Every pass in order, including skipped ones and the recheck round.</summary>
    public IReadOnlyList<UsbRedirFilterPass> Passes { get; }

    /// <summary>True when every interface was a skipped non-boot HID interface, so C checked them all again.</summary>
    public bool Rechecked => Passes.Any(p => p.IsRecheck);

    /// <summary>Why the rules were rejected, for InvalidRules; otherwise null.</summary>
    public UsbRedirFilterError? Error { get; }

    /// <summary>A sentence for users, e.g. "Denied by rule 0 (0x08,-1,-1,-1,0) in the device class 0x08 pass".</summary>
    public string Message => Decision switch
    {
        UsbRedirFilterDecision.InvalidRules => $"InvalidRules: {Error?.Message}",
        UsbRedirFilterDecision.NoMatch => $"NoMatch: no rule matches in the {DecidingPass?.Name} pass",
        _ when DecidingPass is null => $"{Decision}: no pass ran (device class 0x00/0xEF without interfaces)",
        _ when RuleIndex < 0 => $"{Decision}: no rule matched, allowed by DefaultAllow (last pass: {DecidingPass.Name})",
        _ => $"{Decision} by rule {RuleIndex} ({Rule}) in the {DecidingPass.Name} pass"
             + (DecidingPass.IsRecheck ? " of the non-boot-HID recheck" : ""),
    };

    public override string ToString() => Message;
}
