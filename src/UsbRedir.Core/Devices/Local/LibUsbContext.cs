using System.Collections.Concurrent;

namespace UsbRedir.Devices.Local;

/// <summary>
/// One libusb context with its two threads: the event thread, which runs libusb's event handling (every transfer
/// completion is called back there), and the worker thread, which runs libusb's synchronous calls (open, claim, set
/// configuration, reset, ...) one at a time, so none of them blocks a thread-pool thread. Neither lets an exception
/// escape: a failing work item faults its own task, a failing event pass is reported through <see cref="EventError"/>.
/// </summary>
internal sealed unsafe class LibUsbContext : IDisposable
{
    private static readonly TimeSpan IdleInterval = TimeSpan.FromMilliseconds(500);

    private readonly Thread _events;
    private readonly Thread _worker;
    private readonly BlockingCollection<Action> _work = new();
    private volatile bool _stopping;
    private int _disposed;

    public LibUsbContext(string name)
    {
        Handle = LibUsbContextHandle.Create();
        _events = new Thread(EventLoop) { IsBackground = true, Name = $"libusb events {name}" };
        _worker = new Thread(WorkLoop) { IsBackground = true, Name = $"libusb worker {name}" };
        _events.Start();
        _worker.Start();
    }

    public LibUsbContextHandle Handle { get; }

    /// <summary>Called on the event thread about every half second, also when nothing happens (e.g. to notice an unplug).</summary>
    public Action? Idle { get; set; }

    /// <summary>An exception from the event thread (libusb failing, or <see cref="Idle"/> throwing); the loop keeps running.</summary>
    public event Action<Exception>? EventError;

    /// <summary>True on the worker thread (for callers that must not queue behind themselves).</summary>
    public bool OnWorker => Thread.CurrentThread == _worker;

    /// <summary>Runs <paramref name="call"/> on the worker thread; its exception faults the task.</summary>
    public Task<T> RunAsync<T>(Func<T> call)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (OnWorker)
        {
            Run(call, done);
            return done.Task;
        }
        try
        {
            _work.Add(() => Run(call, done));
        }
        catch (InvalidOperationException)
        {
            done.SetException(new ObjectDisposedException(nameof(LibUsbContext)));
        }
        return done.Task;

        static void Run(Func<T> call, TaskCompletionSource<T> done)
        {
            try
            {
                done.SetResult(call());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }
    }

    private void WorkLoop()
    {
        foreach (var item in _work.GetConsumingEnumerable())
            item(); // each item completes its own task and never throws
    }

    private void EventLoop()
    {
        var handle = Handle.DangerousGetHandle();
        var lastIdle = DateTime.UtcNow;
        while (!_stopping)
        {
            try
            {
                var timeout = new LibUsb.TimeVal { Seconds = 0, Microseconds = (nint)IdleInterval.TotalMicroseconds };
                var result = LibUsb.HandleEventsTimeoutCompleted(handle, &timeout, null);
                if (result is not (LibUsb.Success or LibUsb.ErrorInterrupted or LibUsb.ErrorTimeout))
                {
                    EventError?.Invoke(new IOException($"libusb event handling failed: {LibUsb.Describe(result)}"));
                    Thread.Sleep(100); // a persistent failure must not spin the core
                }
                if (DateTime.UtcNow - lastIdle >= IdleInterval)
                {
                    lastIdle = DateTime.UtcNow;
                    Idle?.Invoke();
                }
            }
            catch (Exception e)
            {
                try
                {
                    EventError?.Invoke(e);
                }
                catch
                {
                    // A failing error handler must not end the event thread: transfers would never complete.
                }
            }
        }
    }

    /// <summary>Stops both threads (the worker after its queued calls) and exits the context.</summary>
    /// <remarks>The owner closes its device handles and waits for its transfers first: libusb_exit needs them gone.</remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _work.CompleteAdding();
        if (!OnWorker)
            _worker.Join();
        _stopping = true;
        LibUsb.InterruptEventHandler(Handle.DangerousGetHandle());
        if (Thread.CurrentThread != _events)
            _events.Join();
        Handle.Dispose();
        if (!OnWorker)
            _work.Dispose();
    }
}
