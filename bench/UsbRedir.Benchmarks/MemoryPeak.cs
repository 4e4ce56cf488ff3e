namespace UsbRedir.Benchmarks;

/// <summary>
/// Peak resident set (VmRSS) and managed heap while a measurement runs, sampled every 5 ms on a timer thread.
/// <see cref="Sample"/> starts it; <see cref="Stop"/> returns the peaks.
/// </summary>
internal sealed class MemoryPeak : IDisposable
{
    private readonly Timer _timer;
    private long _peakRss;
    private long _peakHeap;

    private MemoryPeak()
    {
        Poll();
        _timer = new Timer(_ => Poll(), null, 0, 5);
    }

    public long PeakRssBytes => Interlocked.Read(ref _peakRss);

    public long PeakHeapBytes => Interlocked.Read(ref _peakHeap);

    public static MemoryPeak Sample() => new();

    public MemoryPeak Stop()
    {
        _timer.Dispose();
        Poll();
        return this;
    }

    public void Dispose() => _timer.Dispose();

    public override string ToString() => $"{PeakRssBytes / 1048576.0:0} / {PeakHeapBytes / 1048576.0:0} MiB";

    private void Poll()
    {
        Max(ref _peakHeap, GC.GetTotalMemory(false));
        Max(ref _peakRss, ReadRss());
    }

    private static void Max(ref long field, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref field)) && Interlocked.CompareExchange(ref field, value, seen) != seen) { }
    }

    /// <summary>VmRSS from /proc/self/status (Linux); 0 where it does not exist.</summary>
    private static long ReadRss()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
