namespace UsbRedir.Protocol;

/// <summary>
/// The events produced by one Receive call, in stream order. A view over a list the codec reuses: it is valid until the
/// next Receive call. Enumerating it with foreach does not allocate.
/// </summary>
public readonly struct UsbRedirEventBatch
{
    private readonly List<UsbRedirEvent> _events;

    internal UsbRedirEventBatch(List<UsbRedirEvent> events) => _events = events;

    /// <summary>Number of events.</summary>
    public int Count => _events?.Count ?? 0;

    /// <summary>The event at <paramref name="index"/>.</summary>
    public UsbRedirEvent this[int index] => _events[index];

    /// <summary>Allocation-free enumerator for foreach.</summary>
    public List<UsbRedirEvent>.Enumerator GetEnumerator() => (_events ?? []).GetEnumerator();

    /// <summary>Copies the events into a new array (for callers that keep them; payloads are not copied).</summary>
    public UsbRedirEvent[] ToArray() => _events?.ToArray() ?? [];
}
