namespace UsbRedir.Fuzz;

/// <summary>A target's own check failed: the parser returned something impossible. Never caught, so AFL sees a crash.</summary>
internal sealed class FuzzInvariantException(string message) : Exception("Fuzz invariant broken: " + message);

/// <summary>The targets' checks of what a parser returned.</summary>
internal static class Invariant
{
    /// <exception cref="FuzzInvariantException"><paramref name="condition"/> is false.</exception>
    public static void Check(bool condition, string what)
    {
        if (!condition)
            throw new FuzzInvariantException(what);
    }
}
