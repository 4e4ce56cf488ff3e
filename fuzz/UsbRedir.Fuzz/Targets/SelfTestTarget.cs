using System.Text;
using UsbRedir.Filtering;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// Not a parser target: the proof that a crash reaches the report. Reads the input as a filter string (instrumented
/// code, so AFL sees coverage), then throws for an input that starts with "crash". FuzzSmokeTests runs fuzz/run on it
/// with such an input and expects the run to fail naming the crash.
/// </summary>
internal static class SelfTestTarget
{
    public static void Run(byte[] data)
    {
        UsbRedirFilter.TryParse(Encoding.Latin1.GetString(data), null, out _, out _);
        if (data.AsSpan().StartsWith("crash"u8))
            throw new InvalidOperationException("self-test crash: the input starts with 'crash'");
    }
}
