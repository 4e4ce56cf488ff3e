using UsbRedir.Filtering;

namespace UsbRedir.PowerShell.Filtering;

/// <summary>What Test-UsbRedirFilter writes: the device, the decision and the rule and pass that made it.</summary>
public sealed class UsbRedirFilterTestResult
{
    private readonly UsbRedirFilterCheckResult _check;

    internal UsbRedirFilterTestResult(UsbRedirFilterDevice device, UsbRedirFilterCheckResult check)
    {
        Device = device;
        _check = check;
    }

    /// <summary>The device as checked.</summary>
    public UsbRedirFilterDevice Device { get; }

    /// <summary>True when the rules allow redirecting the device.</summary>
    public bool Allowed => _check.IsAllowed;

    /// <summary>Allowed, Denied or NoMatch (no rule matched in some pass).</summary>
    public UsbRedirFilterDecision Result => _check.Decision;

    /// <summary>0-based index of the deciding rule in the filter, or -1 when no rule decided.</summary>
    public int RuleIndex => _check.RuleIndex;

    /// <summary>The rule that decided, or null.</summary>
    public UsbRedirFilterRule? DecidingRule => _check.Rule;

    /// <summary>The device or interface pass that decided.</summary>
    public UsbRedirFilterPass? DecidingPass => _check.DecidingPass;

    /// <summary>Every pass in the order they ran, including skipped ones.</summary>
    public IReadOnlyList<UsbRedirFilterPass> Passes => _check.Passes;

    /// <summary>usbredirfilter_check's return value: 0, -1 (EPERM) or -2 (ENOENT).</summary>
    public int Code => _check.Code;

    /// <summary>One sentence, e.g. "Denied by rule 0 (0x08,-1,-1,-1,0) in the device class 0x08 pass".</summary>
    public string Message => _check.Message;

    public override string ToString() => $"{Device}: {Message}";
}
