using UsbRedir.Security;

namespace UsbRedir.Cli.Commands;

/// <summary>The option every command that reads or writes trust files shares: --config-dir.</summary>
internal static class SecurityArguments
{
    public const string ConfigDirUsage = """
          --config-dir DIR      where the keys and trust files are (default: $XDG_CONFIG_HOME/usbredir,
                                else ~/.config/usbredir)
        """;

    /// <summary>The folder --config-dir names, else this user's default.</summary>
    public static UsbRedirConfigFolder Folder(CliArguments a) =>
        a.Value("config-dir") is { } dir ? new UsbRedirConfigFolder(dir) : UsbRedirConfigFolder.Default;

    /// <summary>Prints the warnings of a trust file's bad lines, as "usbredir: warning: path:line: ...".</summary>
    public static void PrintWarnings(IEnumerable<TrustFileWarning> warnings, CliConsole console)
    {
        foreach (var warning in warnings)
            console.Error.WriteLine($"usbredir: warning: {warning}");
    }
}
