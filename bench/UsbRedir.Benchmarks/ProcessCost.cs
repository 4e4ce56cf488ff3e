using System.Runtime.InteropServices;

namespace UsbRedir.Benchmarks;

/// <summary>
/// CPU time and voluntary context switches of the whole process (getrusage), per operation over a measurement.
/// On a machine shared with other work these move far less than wall-clock throughput does: CPU time is what the
/// operations cost wherever they ran, and each voluntary switch is a thread that went to sleep waiting (a hand-off).
/// </summary>
internal readonly record struct ProcessCost(double CpuMicroseconds, double VoluntarySwitches)
{
    public static Snapshot Start() => Snapshot.Take();

    public override string ToString() => $"{CpuMicroseconds,6:0.0} us {VoluntarySwitches,5:0.0} sw";

    internal readonly record struct Snapshot(TimeSpan Cpu, long VoluntarySwitches)
    {
        public static Snapshot Take()
        {
            var usage = new long[18]; // struct rusage on 64-bit Linux: two timevals, then 14 longs
            if (getrusage(0 /* RUSAGE_SELF */, usage) != 0)
                throw new InvalidOperationException($"getrusage failed: errno {Marshal.GetLastPInvokeError()}");
            var cpu = TimeSpan.FromMicroseconds(usage[0] * 1e6 + usage[1] + usage[2] * 1e6 + usage[3]);
            return new Snapshot(cpu, usage[16]);
        }

        /// <summary>The cost per operation from this snapshot until now.</summary>
        public ProcessCost PerOperation(long operations)
        {
            var now = Take();
            if (operations == 0) return default;
            return new ProcessCost((now.Cpu - Cpu).TotalMicroseconds / operations, (now.VoluntarySwitches - VoluntarySwitches) / (double)operations);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, long[] usage);
}
