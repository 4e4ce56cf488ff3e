using UsbRedir.Transport;

namespace UsbRedir.Devices.Sources;

/// <summary>
/// A device that is opened afresh each time it is needed: <see cref="AcquireAsync"/> calls the open function until it
/// yields the device, waiting between tries with backoff (<see cref="ReconnectPolicy"/>: by default from 0.25 s, doubling up
/// to 2 s, never giving up), and <see cref="ReleaseAsync"/> disposes what it opened. This is what makes a connection re-export
/// a device that was unplugged and plugged in again.
/// </summary>
/// <remarks>
/// <para>The open function returns null while the device is absent (tried again later) and throws
/// <see cref="UsbRedirException"/> for what waiting cannot fix (no permission: the connection then ends as Failed with that
/// error). A local device source opens by busid, or by VID:PID and serial number when the device may move port.</para>
/// <para><see cref="NotifyChanged"/> cuts the current wait short: a hot-plug watcher calls it when a device appears, so the
/// re-attach follows the plug at once instead of at the next backoff step. Given a watch function, the source runs that
/// watcher itself while it waits (both front ends get the same re-attach).</para>
/// </remarks>
public sealed class ReopeningUsbDeviceSource : IUsbDeviceSource
{
    /// <summary>The default wait between tries: 0.25 s, doubling to 2 s, for as long as it takes.</summary>
    public static ReconnectPolicy DefaultRetry { get; } = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2), null);

    private readonly Func<CancellationToken, Task<IUsbDevice?>> _open;
    private readonly ReconnectPolicy _retry;
    private readonly Func<Action, IDisposable?>? _watch;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private IUsbDevice? _initial;

    /// <param name="identity">What the device is, stable across re-plugs ("2-1.3", "0781:5567 serial 4C53000").</param>
    /// <param name="open">Opens the device, or returns null when it is not there (yet).</param>
    /// <param name="retry">The waits between tries; when its attempts run out the source gives up (AcquireAsync returns null).</param>
    /// <param name="initial">An already opened device to yield first (the front end opened it to check it exists); this source then owns it.</param>
    /// <param name="watch">
    /// Starts a watcher that calls the given action whenever the device may have come back (a hot-plug watcher: a device was
    /// plugged in), or returns null when it cannot watch (the tries then find the device all the same). It runs while
    /// <see cref="AcquireAsync"/> looks for the device and is disposed when that returns.
    /// </param>
    public ReopeningUsbDeviceSource(string identity, Func<CancellationToken, Task<IUsbDevice?>> open, ReconnectPolicy? retry = null, IUsbDevice? initial = null,
        Func<Action, IDisposable?>? watch = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(identity);
        Identity = identity;
        _open = open ?? throw new ArgumentNullException(nameof(open));
        _retry = retry ?? DefaultRetry;
        _initial = initial;
        _watch = watch;
    }

    public string Identity { get; }

    /// <summary>
    /// Something the source wants the user to know while it waits (a device of the kind it waits for that it does not take,
    /// and why); the connection over this source logs it as a warning. Raised on the thread that tries to open the device.
    /// </summary>
    public event Action<string>? Notice;

    /// <summary>Raises <see cref="Notice"/> (the open function calls it).</summary>
    public void Report(string message) => Notice?.Invoke(message);

    /// <summary>Tries since the last success (0 while the device is there), for display.</summary>
    public int FailedTries { get; private set; }

    public async Task<IUsbDevice?> AcquireAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _initial, null) is { } initial)
        {
            if (!initial.Gone.IsCancellationRequested)
                return initial;
            await initial.DisposeAsync();
        }
        // Watching starts before the first try: a device plugged in between a try and the watcher's start is not missed.
        var watching = _watch?.Invoke(NotifyChanged);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (await _open(cancellationToken) is { } device)
                {
                    FailedTries = 0;
                    return device;
                }
                FailedTries = attempt;
                if (_retry.DelayBefore(attempt) is not { } delay)
                    return null;
                await _changed.WaitAsync(delay, cancellationToken);
            }
        }
        finally
        {
            // A watcher's end may join its thread: not on the caller's (often a thread-pool) thread.
            if (watching is not null)
                _ = Task.Factory.StartNew(watching.Dispose, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>Disposes the device: it was opened here.</summary>
    public ValueTask ReleaseAsync(IUsbDevice device) => device.DisposeAsync();

    /// <summary>Something changed (a device was plugged in): the next try comes now instead of after the current wait. Any thread.</summary>
    public void NotifyChanged()
    {
        try
        {
            if (_changed.CurrentCount == 0)
                _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // Another NotifyChanged got there first: one wake-up is enough.
        }
    }

    public override string ToString() => Identity;
}
