namespace UsbRedir.Benchmarks;

/// <summary>
/// Peak resident set (RSS) and managed heap while a measurement runs, sampled every 5 ms on a timer thread.
/// <see cref="Sample"/> starts it; <see cref="Stop"/> returns the peaks.
/// </summary>
internal sealed class MemoryPeak : IDisposable
{
    private readonly Timer _timer;
    private long _peakRss;
    private long _peakHeap;
    // Reused by every poll, under its own lock: timer callbacks can overlap on a busy machine, and Stop's last poll
    // can meet a callback still running.
    private readonly byte[] _statm = new byte[128];

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

    /// <summary>
    /// The resident set from /proc/self/statm (Linux; 0 where it does not exist), read into a reused buffer: the
    /// transport benchmark counts every byte the process allocates, and reading /proc/self/status line by line every
    /// 5 ms cost several KiB a poll (tens to hundreds of bytes per transfer at 64 KiB).
    /// </summary>
    private long ReadRss()
    {
        try
        {
            lock (_statm)
                return ParseResidentPages(_statm.AsSpan(0, ReadStatm())) * Environment.SystemPageSize;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    private int ReadStatm()
    {
        using var file = File.OpenHandle("/proc/self/statm");
        return RandomAccess.Read(file, _statm, 0);
    }

    /// <summary>The second field of "size resident shared text lib data dt" (pages); 0 if unreadable.</summary>
    private static long ParseResidentPages(ReadOnlySpan<byte> text)
    {
        var start = text.IndexOf((byte)' ') + 1;
        var length = start == 0 ? -1 : text[start..].IndexOf((byte)' ');
        return length > 0 && System.Buffers.Text.Utf8Parser.TryParse(text.Slice(start, length), out long pages, out _) ? pages : 0;
    }
}
