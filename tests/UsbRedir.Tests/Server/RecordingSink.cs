using System.Threading.Channels;
using UsbRedir.Devices;
using UsbRedir.Server;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Server;

/// <summary>A device sink for server tests: records attaches and detaches, and can refuse devices like a controller with no free port.</summary>
internal sealed class RecordingSink : IDeviceSink
{
    private readonly Channel<(UsbRedirServerConnection Connection, IUsbDevice Device)> _attached = Channel.CreateUnbounded<(UsbRedirServerConnection, IUsbDevice)>();
    private readonly Channel<IUsbDevice> _detached = Channel.CreateUnbounded<IUsbDevice>();
    private int _attachCount;
    private int _detachCount;

    /// <summary>When set, AttachAsync throws it.</summary>
    public Exception? Refusal { get; set; }

    public int AttachCount => Volatile.Read(ref _attachCount);
    public int DetachCount => Volatile.Read(ref _detachCount);

    public Task AttachAsync(UsbRedirServerConnection connection, IUsbDevice device, CancellationToken cancellationToken)
    {
        if (Refusal is { } refusal)
            throw refusal;
        Interlocked.Increment(ref _attachCount);
        _attached.Writer.TryWrite((connection, device));
        return Task.CompletedTask;
    }

    public Task DetachAsync(UsbRedirServerConnection connection, IUsbDevice device)
    {
        Interlocked.Increment(ref _detachCount);
        _detached.Writer.TryWrite(device);
        return Task.CompletedTask;
    }

    public async Task<(UsbRedirServerConnection Connection, IUsbDevice Device)> NextAttachedAsync(TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TestDeadline.Default);
        return await _attached.Reader.ReadAsync(timeout.Token);
    }

    public async Task<IUsbDevice> NextDetachedAsync()
    {
        using var timeout = new CancellationTokenSource(TestDeadline.Default);
        return await _detached.Reader.ReadAsync(timeout.Token);
    }
}
