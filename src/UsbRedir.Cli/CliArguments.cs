namespace UsbRedir.Cli;

/// <summary>
/// The arguments of one subcommand: `--name value`, `--name=value`, switches and positionals. Commands declare which
/// names take a value and which are switches; anything else is a usage error naming the word.
/// </summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _switches = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];

    /// <exception cref="CliUsageException">An unknown option, or an option missing its value.</exception>
    public static CliArguments Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> switchOptions)
    {
        var result = new CliArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                result.Positionals.AddRange(args.Skip(i + 1));
                break;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                result.Positionals.Add(arg);
                continue;
            }
            var eq = arg.IndexOf('=');
            var name = eq > 0 ? arg[2..eq] : arg[2..];
            if (switchOptions.Contains(name))
            {
                if (eq > 0) throw new CliUsageException($"--{name} takes no value");
                result._switches.Add(name);
            }
            else if (valueOptions.Contains(name))
            {
                string value;
                if (eq > 0) value = arg[(eq + 1)..];
                else if (i + 1 < args.Count) value = args[++i];
                else throw new CliUsageException($"--{name} needs a value");
                if (!result._values.TryGetValue(name, out var list))
                    result._values[name] = list = [];
                list.Add(value);
            }
            else
            {
                throw new CliUsageException($"unknown option '--{name}'");
            }
        }
        return result;
    }

    public bool Has(string name) => _switches.Contains(name) || _values.ContainsKey(name);

    public string? Value(string name) => _values.TryGetValue(name, out var list) ? list[^1] : null;

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var list) ? list : [];

    public string Required(string name) => Value(name) ?? throw new CliUsageException($"--{name} is required");

    public int Int(string name, int fallback, int min, int max)
    {
        var text = Value(name);
        if (text is null) return fallback;
        if (!int.TryParse(text, out var value) || value < min || value > max)
            throw new CliUsageException($"--{name} must be a whole number from {min} to {max}, not '{text}'");
        return value;
    }

    public double Seconds(string name, double fallback)
    {
        var text = Value(name);
        if (text is null) return fallback;
        if (!double.TryParse(text.TrimEnd('s'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new CliUsageException($"--{name} must be a number of seconds, not '{text}'");
        return value;
    }
}

/// <summary>Bad command-line words: printed with the command's usage, exit code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
