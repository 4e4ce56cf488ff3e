using UsbRedir.Benchmarks;

// Benchmarks are registered here, one class per file.
IBenchmark[] benchmarks = [new CodecBenchmark(), new TransportBenchmark(), new TlsBenchmark(), new EnumerationBenchmark()];

if (args.Length == 0 || args[0] is "-h" or "--help" or "list")
{
    Console.WriteLine("usage: dotnet run -c Release --project bench/UsbRedir.Benchmarks -- <name> [--seconds N] [--rounds N] [--only TEXT]");
    foreach (var b in benchmarks) Console.WriteLine($"  {b.Name,-10} {b.Description}");
    return args.Length == 0 ? 2 : 0;
}

var selected = benchmarks.FirstOrDefault(b => b.Name == args[0]);
if (selected is null)
{
    Console.Error.WriteLine($"unknown benchmark '{args[0]}'; known: {string.Join(", ", benchmarks.Select(b => b.Name))}");
    return 2;
}
BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args[1..]);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
try
{
    return selected.Run(options);
}
catch (Exception e) when (e is InvalidOperationException or IOException or UsbRedir.UsbRedirException)
{
    // A baseline that failed to build or run, or a broken measurement: say what, without a stack trace.
    Console.Error.WriteLine($"{selected.Name}: {e.Message}");
    return 1;
}
