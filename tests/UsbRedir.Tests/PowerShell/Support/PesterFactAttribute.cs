using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>
/// A fact that needs pwsh on PATH; without it the test is reported as skipped with the reason. pwsh is not a
/// Debian package, so it is skipped even under tests/run's USBREDIR_REQUIRE_PEERS.
/// </summary>
public sealed class PesterFactAttribute : FactAttribute
{
    public PesterFactAttribute()
    {
        if (!Peers.HasPwsh)
            Skip = "SKIPPED: pwsh is not on PATH, so the Pester suite (tests/Pester) cannot run here; it runs wherever "
                   + "PowerShell 7.4+ and Pester 5.5+ are installed (this test, or ./build.ps1 -Task Test)";
    }
}
