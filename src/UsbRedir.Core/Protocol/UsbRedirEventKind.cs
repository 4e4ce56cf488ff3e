namespace UsbRedir.Protocol;

/// <summary>What a <see cref="UsbRedirEvent"/> reports.</summary>
public enum UsbRedirEventKind
{
    /// <summary>A valid packet was received (including the peer's hello).</summary>
    Packet,
    /// <summary>A packet broke a rule and was skipped or ignored; see <see cref="UsbRedirEvent.Error"/>.</summary>
    Error,
}
