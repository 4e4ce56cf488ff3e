using System.Globalization;

namespace UsbRedir.Benchmarks;

/// <summary>One measured run: how many packets and bytes went through in how long.</summary>
internal readonly record struct Throughput(long Packets, long Bytes, TimeSpan Elapsed)
{
    public double MegabytesPerSecond => Bytes / Elapsed.TotalSeconds / 1e6;

    public double PacketsPerSecond => Packets / Elapsed.TotalSeconds;

    /// <summary>Parses the "passes=.. packets=.. bytes=.. ns=.." line the C baselines print.</summary>
    public static Throughput ParseNative(string line)
    {
        var fields = line.Trim().Split(' ').Select(f => f.Split('=')).ToDictionary(kv => kv[0], kv => long.Parse(kv[1], CultureInfo.InvariantCulture));
        return new Throughput(fields["packets"], fields["bytes"], TimeSpan.FromTicks(fields["ns"] / 100));
    }

    /// <summary>The better of two runs (the one least disturbed by other load on the machine).</summary>
    public static Throughput Best(Throughput a, Throughput b) => a.Bytes / a.Elapsed.TotalSeconds >= b.Bytes / b.Elapsed.TotalSeconds ? a : b;
}
