namespace UsbRedir.Cli;

/// <summary>Process exit codes, fixed so scripts can rely on them.</summary>
internal static class ExitCode
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int AccessDenied = 3;
    public const int Cancelled = 4;
}
