using UsbRedir.Filtering;

namespace UsbRedir.Cli.Commands;

/// <summary>`usbredir filter`: parse, check and convert usbredir filter rules (the engine is UsbRedir.Filtering).</summary>
internal sealed class FilterCommand : ICliCommand
{
    /// <summary>`filter check` exit code when a rule blocks the device.</summary>
    public const int ExitDenied = 1;

    /// <summary>`filter check` exit code when no rule matched in some pass (and --default-allow was not given).</summary>
    public const int ExitNoMatch = 5;

    public string Name => "filter";

    public string Summary => "parse, check and convert usbredir filter rules (also QEMU and libvirt forms)";

    public string Usage => """
        usage: usbredir filter parse RULES [FORM]
               usbredir filter check RULES --device CLASS:VID:PID:BCD [--interface C/S/P]... [FORM]
                                     [--default-allow] [--dont-skip-non-boot-hid] [--verbose]
               usbredir filter convert (RULES [FORM] | --from-xml FILE|-) [--to-xml | --to-qemu | --to-wire]

        RULES is a filter string, e.g. "0x08,-1,-1,-1,1|-1,-1,-1,-1,0" (class,vendor,product,version,allow;
        -1 = any; numbers as in C: 8, 0x08 or 010), or - to read it from standard input.

        FORM (how RULES is written; default: the usbredir wire form with ',' and '|'):
          --qemu                    QEMU's usb-redir filter= form, ':' between fields and '|' between rules
          --token-separators S      characters that separate fields (any of them; strtok rules)
          --rule-separators S       characters that separate rules

        parse    prints the normalised string (as usbredirfilter_rules_to_string writes it) and a table of rules.
        check    decides whether the rules let the device be redirected, like usbredirfilter_check. The device is
                 class:vendor:product:bcdDevice in hex as lsusb -v prints them (e.g. 08:0781:5567:0100); give
                 each interface (altsetting 0) as class/subclass/protocol in hex (e.g. --interface 08/06/50).
                 Prints allowed, denied or nomatch and the rule and pass that decided.
                 Exit codes: 0 allowed, 1 denied, 5 no rule matched, 2 bad arguments or rules.
        convert  rewrites rules between the wire form, QEMU's form and libvirt's <redirfilter> XML.
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        if (args.Count == 0)
            return Task.FromResult(console.UsageError("filter: missing subcommand (parse, check or convert)", Usage));
        var options = FilterOptions.TryRead(args.Skip(1).ToList(), out var problem);
        if (options is null)
            return Task.FromResult(console.UsageError($"filter {args[0]}: {problem}", Usage));
        return Task.FromResult(args[0] switch
        {
            "parse" => Parse(options, console),
            "check" => Check(options, console),
            "convert" => Convert(options, console),
            _ => console.UsageError($"filter: unknown subcommand '{args[0]}' (expected parse, check or convert)", Usage),
        });
    }

    private int Parse(FilterOptions options, CliConsole console)
    {
        if (options.Rules is null)
            return console.UsageError("filter parse: missing RULES", Usage);
        var rules = UsbRedirFilter.Parse(ReadArgument(options.Rules), options.InputSeparators);
        console.Out.WriteLine(UsbRedirFilter.Format(rules, options.InputSeparators));
        WriteTable(rules, console.Out);
        return ExitCode.Success;
    }

    private int Check(FilterOptions options, CliConsole console)
    {
        if (options.Rules is null)
            return console.UsageError("filter check: missing RULES", Usage);
        if (options.Device is null)
            return console.UsageError("filter check: missing --device CLASS:VID:PID:BCD", Usage);
        var rules = UsbRedirFilter.Parse(ReadArgument(options.Rules), options.InputSeparators);
        var device = UsbRedirFilterDevice.Parse(options.Device, options.Interfaces.Select(UsbRedirFilterInterface.Parse).ToArray());
        var result = UsbRedirFilter.Check(rules, device, options.Flags);
        console.Out.WriteLine(result.Decision switch
        {
            UsbRedirFilterDecision.Allowed => "allowed",
            UsbRedirFilterDecision.Denied => "denied",
            UsbRedirFilterDecision.NoMatch => "nomatch",
            _ => "invalid",
        });
        console.Out.WriteLine(result.Message);
        if (options.Verbose)
            foreach (var pass in result.Passes)
                console.Out.WriteLine("  " + pass);
        return result.Decision switch
        {
            UsbRedirFilterDecision.Allowed => ExitCode.Success,
            UsbRedirFilterDecision.Denied => ExitDenied,
            UsbRedirFilterDecision.NoMatch => ExitNoMatch,
            _ => ExitCode.Usage, // unreachable: parsing already verified the rules
        };
    }

    private int Convert(FilterOptions options, CliConsole console)
    {
        if ((options.Rules is null) == (options.FromXml is null))
            return console.UsageError("filter convert: give either RULES or --from-xml FILE", Usage);
        var rules = options.FromXml is { } file
            ? UsbRedirFilterXml.Parse(ReadFile(file))
            : UsbRedirFilter.Parse(ReadArgument(options.Rules!), options.InputSeparators);
        console.Out.WriteLine(options.Output switch
        {
            OutputForm.Xml => UsbRedirFilterXml.Format(rules),
            OutputForm.Qemu => UsbRedirFilter.Format(rules, UsbRedirFilterSeparators.Qemu),
            _ => UsbRedirFilter.Format(rules, UsbRedirFilterSeparators.Wire),
        });
        return ExitCode.Success;
    }

    private static void WriteTable(IReadOnlyList<UsbRedirFilterRule> rules, TextWriter output)
    {
        output.WriteLine($"{"#",3}  {"CLASS",-5}  {"VENDOR",-6}  {"PRODUCT",-7}  {"VERSION",-7}  ACTION");
        for (var i = 0; i < rules.Count; i++)
        {
            var r = rules[i];
            output.WriteLine($"{i,3}  {Hex(r.Class, 2),-5}  {Hex(r.VendorId, 4),-6}  {Hex(r.ProductId, 4),-7}  {r.VersionText,-7}  {r.Action}");
        }
    }

    private static string Hex(int value, int digits) => value == UsbRedirFilterRule.Any ? "any" : "0x" + value.ToString("x" + digits);

    private static string ReadArgument(string value) => value == "-" ? Console.In.ReadToEnd().TrimEnd('\r', '\n') : value;

    private static string ReadFile(string path)
    {
        if (path == "-")
            return Console.In.ReadToEnd();
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsbRedirException("FilterFileUnreadable",
                e is FileNotFoundException or DirectoryNotFoundException ? UsbRedirErrorCategory.ObjectNotFound
                : e is UnauthorizedAccessException ? UsbRedirErrorCategory.PermissionDenied : UsbRedirErrorCategory.InvalidArgument,
                $"Cannot read '{path}': {e.Message}", "Give the path of a readable XML file, or - for standard input.", path, e);
        }
    }

    private enum OutputForm { Wire, Qemu, Xml }

    /// <summary>The options shared by the three subcommands.</summary>
    private sealed class FilterOptions
    {
        public string? Rules { get; private set; }
        public string? FromXml { get; private set; }
        public string? Device { get; private set; }
        public List<string> Interfaces { get; } = [];
        public UsbRedirFilterSeparators InputSeparators { get; private set; } = UsbRedirFilterSeparators.Wire;
        public UsbRedirFilterCheckFlags Flags { get; private set; }
        public OutputForm Output { get; private set; }
        public bool Verbose { get; private set; }

        public static FilterOptions? TryRead(List<string> args, out string problem)
        {
            var o = new FilterOptions();
            string? tokenSeps = null, ruleSeps = null;
            var qemu = false;
            problem = "";
            for (var i = 0; i < args.Count; i++)
            {
                var arg = args[i];
                string? Value()
                {
                    if (i + 1 < args.Count)
                        return args[++i];
                    return null;
                }
                switch (arg)
                {
                    case "--qemu": qemu = true; break;
                    case "--token-separators": tokenSeps = Value(); if (tokenSeps is null) return Missing(arg, out problem); break;
                    case "--rule-separators": ruleSeps = Value(); if (ruleSeps is null) return Missing(arg, out problem); break;
                    case "--device": o.Device = Value(); if (o.Device is null) return Missing(arg, out problem); break;
                    case "--interface":
                        var iface = Value();
                        if (iface is null)
                            return Missing(arg, out problem);
                        o.Interfaces.Add(iface);
                        break;
                    case "--from-xml": o.FromXml = Value(); if (o.FromXml is null) return Missing(arg, out problem); break;
                    case "--default-allow": o.Flags |= UsbRedirFilterCheckFlags.DefaultAllow; break;
                    case "--dont-skip-non-boot-hid": o.Flags |= UsbRedirFilterCheckFlags.DontSkipNonBootHid; break;
                    case "--to-xml": o.Output = OutputForm.Xml; break;
                    case "--to-qemu": o.Output = OutputForm.Qemu; break;
                    case "--to-wire": o.Output = OutputForm.Wire; break;
                    case "--verbose" or "-v": o.Verbose = true; break;
                    default:
                        if (arg.StartsWith("--", StringComparison.Ordinal))
                        {
                            problem = $"unknown option '{arg}'";
                            return null;
                        }
                        if (o.Rules is not null)
                        {
                            problem = $"unexpected argument '{arg}' (RULES was already given; quote a filter that contains spaces or '|')";
                            return null;
                        }
                        o.Rules = arg;
                        break;
                }
            }
            if (qemu && (tokenSeps is not null || ruleSeps is not null))
            {
                problem = "--qemu and --token-separators/--rule-separators exclude each other";
                return null;
            }
            if (qemu)
                o.InputSeparators = UsbRedirFilterSeparators.Qemu;
            else if (tokenSeps is not null || ruleSeps is not null)
                o.InputSeparators = new UsbRedirFilterSeparators(tokenSeps ?? ",", ruleSeps ?? "|");
            return o;
        }

        private static FilterOptions? Missing(string option, out string problem)
        {
            problem = $"{option} needs a value";
            return null;
        }
    }
}
