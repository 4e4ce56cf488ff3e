namespace UsbRedir.Transport;

/// <summary>
/// Exponential backoff for client reconnects: first retry after <see cref="InitialDelay"/>, doubling up to
/// <see cref="MaxDelay"/>, with ±20 % jitter so many clients restarted together don't hammer a server in step.
/// </summary>
public sealed record ReconnectPolicy(TimeSpan InitialDelay, TimeSpan MaxDelay, int? MaxAttempts)
{
    public static ReconnectPolicy Default { get; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30), null);

    /// <summary>Never reconnect: the connection ends with the first failure.</summary>
    public static ReconnectPolicy Never { get; } = new(TimeSpan.Zero, TimeSpan.Zero, 0);

    /// <summary>The delay before retry number <paramref name="attempt"/> (1-based), or null when attempts are used up.</summary>
    public TimeSpan? DelayBefore(int attempt, Random? random = null)
    {
        if (attempt < 1) throw new ArgumentOutOfRangeException(nameof(attempt));
        if (MaxAttempts is { } max && attempt > max) return null;
        var exponent = Math.Min(attempt - 1, 30);
        var ticks = Math.Min(InitialDelay.Ticks * (double)(1L << exponent), MaxDelay.Ticks);
        var jitter = 0.8 + 0.4 * (random ?? Random.Shared).NextDouble();
        return TimeSpan.FromTicks((long)(ticks * jitter));
    }
}
