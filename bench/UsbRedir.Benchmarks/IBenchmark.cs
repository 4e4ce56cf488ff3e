namespace UsbRedir.Benchmarks;

/// <summary>One benchmark selectable by name on the command line; one implementation per file.</summary>
internal interface IBenchmark
{
    /// <summary>The command-line name (e.g. "codec").</summary>
    string Name { get; }

    /// <summary>One line saying what is measured and against which baseline.</summary>
    string Description { get; }

    /// <summary>Runs the benchmark, printing its figures; returns the process exit code.</summary>
    int Run(BenchmarkOptions options);
}
