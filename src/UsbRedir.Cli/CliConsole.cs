namespace UsbRedir.Cli;

/// <summary>Where commands read and write: replaceable in tests.</summary>
internal sealed class CliConsole(TextWriter output, TextWriter error, TextReader? input = null)
{
    public TextWriter Out { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>Standard input (--keys -); empty unless given.</summary>
    public TextReader In { get; } = input ?? TextReader.Null;

    public static CliConsole Standard => new(Console.Out, Console.Error, Console.In);

    /// <summary>Prints an engine error as "usbredir: error: ... (fix: ...)" and returns the matching exit code.</summary>
    public int Fail(UsbRedirException e)
    {
        Error.WriteLine($"usbredir: error [{e.ErrorId}]: {e.Message}");
        if (e.RecommendedAction is { } fix)
            Error.WriteLine($"usbredir: fix: {fix}");
        return e.Category == UsbRedirErrorCategory.PermissionDenied ? ExitCode.AccessDenied
            : e.Category == UsbRedirErrorCategory.InvalidArgument ? ExitCode.Usage
            : ExitCode.Failure;
    }

    public int UsageError(string message, string usage)
    {
        Error.WriteLine($"usbredir: {message}");
        Error.WriteLine(usage);
        return ExitCode.Usage;
    }
}
