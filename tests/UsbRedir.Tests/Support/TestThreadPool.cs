using System.Runtime.CompilerServices;

namespace UsbRedir.Tests.Support;

/// <summary>
/// Gives this test run's thread pool room for the tests that block: a VM test waits minutes for its guest (and for its
/// turn) on a pool thread, several of them at once, and a pool of its default minimum (one thread per core, two here)
/// then adds threads only every half second or so. Meanwhile a test that streams in real time beside a guest (iso to
/// QEMU's usb-redir: socket completions, the software device's timer) waits for a thread: in CI its iso OUT data came in
/// bursts after the host's ring had run dry, and the ring overflowed. The engines never block pool threads; this is the
/// test run's own doing, so the fix is here.
/// </summary>
internal static class TestThreadPool
{
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The pool must be sized before any test blocks a thread.")]
    internal static void Widen()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
    }
}
