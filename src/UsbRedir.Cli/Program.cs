using System.Reflection;

namespace UsbRedir.Cli;

/// <summary>Entry point: `usbredir COMMAND [ARGS]`. Each command lives in Commands/ and is listed in <see cref="Commands"/>.</summary>
internal static class Program
{
    /// <summary>Every subcommand, in the order `--help` lists them.</summary>
    internal static IReadOnlyList<ICliCommand> Commands { get; } =
    [
        new Commands.ClientsCommand(),
        new Commands.ConnectCommand(),
        new Commands.FilterCommand(),
        new Commands.IdentityCommand(),
        new Commands.ListCommand(),
        new Commands.PlugCommand(),
        new Commands.ServerCommand(),
        new Commands.TlsCommand(),
        new Commands.TrustCommand(),
    ];

    public static async Task<int> Main(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        // Services are stopped with SIGTERM: end as cleanly as on Ctrl+C (devices disconnected, acks awaited).
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cts.Cancel(); });
        return await RunAsync(args, CliConsole.Standard, cts.Token);
    }

    internal static async Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            console.Out.WriteLine(GeneralUsage());
            return args.Count == 0 ? ExitCode.Usage : ExitCode.Success;
        }
        if (args[0] is "--version" or "version")
        {
            console.Out.WriteLine($"usbredir {Version}");
            return ExitCode.Success;
        }
        if (args[0] == "-l") // the original vhciclient's spelling
            args = ["list", .. args.Skip(1)];
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
            return console.UsageError($"unknown command '{args[0]}'", GeneralUsage());
        var rest = args.Skip(1).ToList();
        if (rest.Count > 0 && rest[0] is "-h" or "--help")
        {
            console.Out.WriteLine(command.Usage);
            return ExitCode.Success;
        }
        // The process's engine context: a command stops what it started; whatever is still listed at the end stops here.
        var context = new UsbRedirContext();
        try
        {
            return await command.RunAsync(rest, console, context, cancellationToken);
        }
        catch (UsbRedirException e)
        {
            return console.Fail(e);
        }
        catch (CliUsageException e)
        {
            return console.UsageError(e.Message, command.Usage);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.Error.WriteLine("usbredir: cancelled");
            return ExitCode.Cancelled;
        }
        finally
        {
            await context.StopAllAsync(TimeSpan.FromSeconds(5));
        }
    }

    internal static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private static string GeneralUsage()
    {
        var lines = new List<string> { "usage: usbredir COMMAND [ARGS]   (usbredir COMMAND --help for details)", "", "commands:" };
        lines.AddRange(Commands.Select(c => $"  {c.Name,-12} {c.Summary}"));
        lines.Add($"  {"version",-12} print the version");
        return string.Join(Environment.NewLine, lines);
    }
}
