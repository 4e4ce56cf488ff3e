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

    /// <summary>
    /// A policy from user input (cmdlet parameters, CLI flags): checked here, so a bad value is an error naming it
    /// when the command starts rather than a failed reconnect much later. Unset values keep <see cref="Default"/>'s.
    /// </summary>
    /// <param name="never">The user asked for no reconnects (-NoReconnect, --no-reconnect): <see cref="Never"/>, and any other setting is a contradiction.</param>
    /// <exception cref="UsbRedirException">ReconnectPolicyInvalid: a delay below zero, a maximum below the first delay, negative attempts, or settings with <paramref name="never"/>.</exception>
    public static ReconnectPolicy Create(TimeSpan? initialDelay, TimeSpan? maxDelay, int? maxAttempts, bool never = false)
    {
        if (never)
            return initialDelay is null && maxDelay is null && maxAttempts is null
                ? Never
                : throw Invalid("'no reconnect' cannot be combined with reconnect delays or attempts", null);
        var initial = initialDelay ?? Default.InitialDelay;
        var max = maxDelay ?? (initial > Default.MaxDelay ? initial : Default.MaxDelay);
        if (initial < TimeSpan.Zero)
            throw Invalid($"the first reconnect delay cannot be negative (got {initial})", initial);
        if (max < initial)
            throw Invalid($"the longest reconnect delay ({max}) is shorter than the first ({initial})", max);
        if (maxAttempts < 0)
            throw Invalid($"the number of reconnect attempts cannot be negative (got {maxAttempts})", maxAttempts);
        return new ReconnectPolicy(initial, max, maxAttempts);
    }

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

    private static UsbRedirException Invalid(string why, object? value) =>
        new("ReconnectPolicyInvalid", UsbRedirErrorCategory.InvalidArgument, $"Invalid reconnect settings: {why}.",
            "Give delays of 0 seconds or more with the longest at least the first, and 0 or more attempts (0 = never reconnect).", value);
}
