namespace UsbRedir.Tests.Support;

/// <summary>
/// How long a test waits for something that takes milliseconds on an idle machine (an answer over loopback, a background
/// loop reaching a state, a task completing) before it calls it lost.
/// </summary>
/// <remarks>
/// Generous on purpose: on the 2-core CI host a TCG guest keeps a core busy while the rest of the suite runs beside it,
/// and a starved thread pool can hold a continuation back for seconds. Every wait ends as soon as the thing happens, so
/// the length costs nothing when it does; only a real hang pays for it. Not for timeouts a test is about (a request
/// timeout the product must apply): those stay what the test sets.
/// </remarks>
internal static class TestDeadline
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);
}
