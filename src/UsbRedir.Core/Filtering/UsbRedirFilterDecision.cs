namespace UsbRedir.Filtering;

/// <summary>The outcome of a filter check. Each value equals usbredirfilter_check's return code.</summary>
public enum UsbRedirFilterDecision
{
    /// <summary>0: every pass that ran allowed the device.</summary>
    Allowed = 0,

    /// <summary>-EPERM: a matching rule blocks the device.</summary>
    Denied = -1,

    /// <summary>-ENOENT: no rule matched in one of the passes (and DefaultAllow was not given).</summary>
    NoMatch = -2,

    /// <summary>-EINVAL: a rule is out of range.</summary>
    InvalidRules = -22,
}
