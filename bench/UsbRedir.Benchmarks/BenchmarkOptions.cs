namespace UsbRedir.Benchmarks;

/// <summary>Options shared by every benchmark: how long each measurement runs.</summary>
/// <param name="Seconds">Target wall time of one measured run (after warm-up).</param>
/// <param name="Rounds">Measured runs per figure; the best one is reported (least disturbed by other load).</param>
internal sealed record BenchmarkOptions(double Seconds, int Rounds)
{
    public static BenchmarkOptions Default { get; } = new(1.0, 3);

    /// <summary>Parses "--seconds N" and "--rounds N"; anything else is an error naming the argument.</summary>
    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        var o = Default;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--seconds" when double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0:
                    o = o with { Seconds = s };
                    i++;
                    break;
                case "--rounds" when int.TryParse(value, out var r) && r > 0:
                    o = o with { Rounds = r };
                    i++;
                    break;
                default:
                    throw new ArgumentException($"unknown or incomplete option '{args[i]}' (expected --seconds N, --rounds N)");
            }
        }
        return o;
    }
}
