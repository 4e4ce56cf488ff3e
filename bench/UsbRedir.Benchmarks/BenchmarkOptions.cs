namespace UsbRedir.Benchmarks;

/// <summary>Options shared by every benchmark: how long each measurement runs.</summary>
/// <param name="Seconds">Target wall time of one measured run (after warm-up).</param>
/// <param name="Rounds">Measured runs per figure; the best one is reported (least disturbed by other load).</param>
internal sealed record BenchmarkOptions(double Seconds, int Rounds)
{
    /// <summary>"--only TEXT": only the rows whose name contains TEXT (benchmarks that honour it say so), e.g. to profile one.</summary>
    public string? Only { get; init; }

    public static BenchmarkOptions Default { get; } = new(1.0, 3);

    /// <summary>Parses "--seconds N", "--rounds N" and "--only TEXT"; anything else is an error naming the argument.</summary>
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
                case "--only" when value is not null:
                    o = o with { Only = value };
                    i++;
                    break;
                default:
                    throw new ArgumentException($"unknown or incomplete option '{args[i]}' (expected --seconds N, --rounds N, --only TEXT)");
            }
        }
        return o;
    }
}
