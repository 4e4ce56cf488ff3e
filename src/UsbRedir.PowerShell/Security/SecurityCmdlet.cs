using System.Management.Automation;
using UsbRedir.Security;

namespace UsbRedir.PowerShell.Security;

/// <summary>What the trust cmdlets share: -ConfigFolder and the warnings of a trust file's bad lines.</summary>
internal static class SecurityParameters
{
    /// <summary>The engine over -ConfigFolder, or over this user's default folder.</summary>
    public static TrustStore Store(PSCmdlet cmdlet, string? configFolder) => new(Folder(cmdlet, configFolder));

    /// <summary>-ConfigFolder resolved against PowerShell's current location, or this user's default folder.</summary>
    public static UsbRedirConfigFolder Folder(PSCmdlet cmdlet, string? configFolder) => configFolder is null
        ? UsbRedirConfigFolder.Default
        : new UsbRedirConfigFolder(cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(configFolder));

    public static void WriteWarnings(Cmdlet cmdlet, IEnumerable<TrustFileWarning> warnings)
    {
        foreach (var warning in warnings)
            cmdlet.WriteWarning(warning.ToString());
    }
}
