namespace UsbRedir.Tests.Support;

/// <summary>
/// Which real peers (Debian packages) this machine has. tests/run sets USBREDIR_REQUIRE_PEERS=1 once it
/// has installed them all; then a missing peer fails its tests instead of skipping them.
/// </summary>
public static class Peers
{
    public static bool Required => Environment.GetEnvironmentVariable("USBREDIR_REQUIRE_PEERS") == "1";

    public static bool HasLibUsbRedirParser => File.Exists("/usr/include/usbredirparser.h") && HasCommand("gcc") && HasCommand("pkg-config");

    public static bool HasCommand(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, name)));

    /// <summary>Null when the peer is present or required (so the test runs, and fails if it is absent); else a skip reason.</summary>
    public static string? SkipUnless(bool present, string what) =>
        present || Required ? null : $"SKIPPED: {what} is not installed (run .ci/install-deps as root)";
}

/// <summary>A fact that needs Debian's libusbredirparser-dev and gcc; skipped only outside tests/run.</summary>
public sealed class LibUsbRedirParserFactAttribute : FactAttribute
{
    public LibUsbRedirParserFactAttribute() => Skip = Peers.SkipUnless(Peers.HasLibUsbRedirParser, "libusbredirparser-dev");
}

/// <summary>A theory that needs Debian's libusbredirparser-dev and gcc; skipped only outside tests/run.</summary>
public sealed class LibUsbRedirParserTheoryAttribute : TheoryAttribute
{
    public LibUsbRedirParserTheoryAttribute() => Skip = Peers.SkipUnless(Peers.HasLibUsbRedirParser, "libusbredirparser-dev");
}
