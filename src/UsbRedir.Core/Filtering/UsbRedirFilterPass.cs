namespace UsbRedir.Filtering;

/// <summary>One pass of a filter check, in the order C runs them.</summary>
/// <param name="Kind">Device pass or interface pass.</param>
/// <param name="InterfaceIndex">0-based interface index for interface passes; -1 for the device pass.</param>
/// <param name="Class">The class matched against the rules' Class field.</param>
/// <param name="Outcome">How the pass ended.</param>
/// <param name="RuleIndex">0-based index of the rule that matched, or -1 (no match, or skipped).</param>
/// <param name="Rule">The rule that matched, or null.</param>
/// <param name="IsRecheck">
/// True for passes of the second round that runs when every interface was skipped as non-boot HID
/// (the round that checks them after all).
/// </param>
public sealed record UsbRedirFilterPass(UsbRedirFilterPassKind Kind, int InterfaceIndex, byte Class,
    UsbRedirFilterPassOutcome Outcome, int RuleIndex, UsbRedirFilterRule? Rule, bool IsRecheck)
{
    /// <summary>"device class 0x08" or "interface 1 class 0x03", for messages.</summary>
    public string Name => Kind == UsbRedirFilterPassKind.Device
        ? $"device class 0x{Class:x2}"
        : $"interface {InterfaceIndex} class 0x{Class:x2}";

    public override string ToString() =>
        $"{Name}{(IsRecheck ? " (recheck)" : "")}: {Outcome}{(RuleIndex >= 0 ? $" by rule {RuleIndex} ({Rule})" : "")}";
}
