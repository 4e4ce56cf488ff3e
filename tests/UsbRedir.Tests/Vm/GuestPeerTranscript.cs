namespace UsbRedir.Tests.Vm;

/// <summary>
/// The output of tests/interop/usbredir_guest_peer.c: "STEP | LINE" lines, by step, in the peer's order (the announcement
/// is step "announce"). Data prints as "length:FNV-1a hash:first 16 bytes".
/// </summary>
internal static class GuestPeerTranscript
{
    /// <summary>The peer's lines by step.</summary>
    public static Dictionary<string, List<string>> Read(string path)
    {
        Assert.True(File.Exists(path), $"no transcript {path}: see the guest run's output");
        var steps = new Dictionary<string, List<string>>();
        foreach (var line in File.ReadAllLines(path))
        {
            var bar = line.IndexOf(" | ", StringComparison.Ordinal);
            Assert.True(bar > 0, $"{path}: not a transcript line: {line}");
            var step = line[..bar];
            if (!steps.TryGetValue(step, out var lines))
                steps[step] = lines = [];
            lines.Add(line[(bar + 3)..]);
        }
        return steps;
    }

    /// <summary>The peer's data hash (32-bit FNV-1a).</summary>
    public static uint Fnv1a(ReadOnlySpan<byte> bytes)
    {
        var h = 2166136261u;
        foreach (var b in bytes)
            h = (h ^ b) * 16777619u;
        return h;
    }
}
