using System.Runtime.CompilerServices;

namespace UsbRedir.Tests.Security;

/// <summary>
/// Keeps every test away from the user's own keys and trust files: the CLI and cmdlets that run in this process, and the
/// processes it starts, find their default configuration folder (UsbRedirConfigFolder.Default) under a temporary
/// XDG_CONFIG_HOME made for this run.
/// </summary>
internal static class TestConfigHome
{
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The test run's environment must be set before any test reads it.")]
    internal static void Isolate() =>
        Environment.SetEnvironmentVariable("XDG_CONFIG_HOME", Directory.CreateTempSubdirectory("usbredir-test-config-").FullName);
}
