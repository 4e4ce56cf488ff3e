namespace UsbRedir.Cli;

/// <summary>One `usbredir` subcommand. Commands are thin: parse arguments, call an engine, print.</summary>
internal interface ICliCommand
{
    /// <summary>The word after `usbredir`, e.g. "filter".</summary>
    string Name { get; }

    /// <summary>One line for `usbredir --help`.</summary>
    string Summary { get; }

    /// <summary>Full usage text for `usbredir NAME --help`.</summary>
    string Usage { get; }

    /// <summary>
    /// Runs the command; returns the process exit code (see <see cref="ExitCode"/>). What it starts in the background
    /// (connections, servers) it starts in <paramref name="context"/>, the process's one.
    /// </summary>
    Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken);
}
