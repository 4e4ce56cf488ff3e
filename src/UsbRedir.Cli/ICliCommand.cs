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

    /// <summary>Runs the command; returns the process exit code (see <see cref="ExitCode"/>).</summary>
    Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, CancellationToken cancellationToken);
}
