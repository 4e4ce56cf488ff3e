namespace UsbRedir.Protocol;

/// <summary>The peer's hello: its free-text version (for logs only) and its capabilities (first word, sanitised like the C parser).</summary>
/// <param name="Version">Version text, at most 63 characters, up to the first NUL.</param>
/// <param name="Capabilities">Capability bits of the first caps word (bulk_streams cleared when sent without ep_info_max_packet_size).</param>
/// <param name="CapabilityWordCount">How many whole caps words the hello carried (reference peers send 1).</param>
public sealed record HelloInfo(string Version, UsbRedirCapabilities Capabilities, int CapabilityWordCount);
