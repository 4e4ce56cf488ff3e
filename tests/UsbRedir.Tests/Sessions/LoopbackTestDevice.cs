using System.Threading.Channels;
using UsbRedir.Devices;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// A small vendor-class device for session tests: bulk OUT 0x01 queues what it receives, bulk IN 0x81 hands it back
/// (waiting until there is some), interrupt IN 0x82 yields a counter on demand, interrupt OUT 0x02 records what it gets. Records what the session asked of it.
/// </summary>
internal sealed class LoopbackTestDevice : IUsbDevice
{
    private readonly Channel<byte[]> _loop = Channel.CreateUnbounded<byte[]>();
    private readonly Channel<byte> _interrupts = Channel.CreateUnbounded<byte>();
    private readonly CancellationTokenSource _gone = new();
    private byte _configuration;
    private byte _alt;

    public static readonly byte[] Descriptor = [18, 1, 0x00, 0x02, 0xFF, 0, 0, 64, 0x34, 0x12, 0x78, 0x56, 0x01, 0x02, 1, 2, 3, 1];

    public static readonly byte[] Configuration =
    [
        9, 2, 46, 0, 1, 1, 0, 0x80, 50,
        9, 4, 0, 0, 4, 0xFF, 0, 0, 0,
        7, 5, 0x01, 2, 0x00, 0x02, 0,
        7, 5, 0x81, 2, 0x00, 0x02, 0,
        7, 5, 0x82, 3, 8, 0, 4,
        7, 5, 0x02, 3, 8, 0, 4,
    ];

    /// <summary>What interrupt OUT 0x02 received, in order.</summary>
    public readonly List<byte[]> InterruptOut = [];

    public string Description => "loopback test device";
    public UsbSpeed Speed => UsbSpeed.High;
    public ReadOnlyMemory<byte> DeviceDescriptor => Descriptor;
    public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors => [Configuration];
    public byte ActiveConfiguration => _configuration;
    public byte GetAlternateSetting(byte interfaceNumber) => _alt;
    public CancellationToken Gone => _gone.Token;
    public int Resets;
    public int ClearHalts;
    public readonly List<UsbSetupPacket> ControlRequests = [];

    /// <summary>When set, control transfers wait on it (to test timeouts and cancels).</summary>
    public TaskCompletionSource? ControlGate;

    public void Unplug() => _gone.Cancel();

    public void QueueInterrupt(byte value) => _interrupts.Writer.TryWrite(value);

    public Task<UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken)
    {
        if (configurationValue > 1) return Task.FromResult(UsbStatus.Stall);
        _configuration = configurationValue;
        return Task.FromResult(UsbStatus.Success);
    }

    public Task<UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken)
    {
        if (interfaceNumber != 0 || alternateSetting != 0) return Task.FromResult(UsbStatus.Stall);
        _alt = alternateSetting;
        return Task.FromResult(UsbStatus.Success);
    }

    public async Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken)
    {
        lock (ControlRequests) ControlRequests.Add(setup);
        if (Gone.IsCancellationRequested) return UsbTransferResult.Failed(UsbStatus.IoError);
        if (ControlGate is { } gate)
        {
            try { await gate.Task.WaitAsync(cancellationToken); }
            catch (OperationCanceledException) { return UsbTransferResult.Failed(UsbStatus.Cancelled); }
        }
        if (setup is { RequestType: 0x80, Request: 6 } && setup.Value >> 8 == 1)
            return Copy(Descriptor, data.Span, setup.Length);
        if (setup is { RequestType: 0x80, Request: 6 } && setup.Value >> 8 == 2)
            return Copy(Configuration, data.Span, setup.Length);
        if (setup is { RequestType: 0x40, Request: 0x42 })
            return UsbTransferResult.Ok(setup.Length); // vendor OUT: accepted
        return UsbTransferResult.Failed(UsbStatus.Stall);
    }

    private static UsbTransferResult Copy(byte[] source, Span<byte> dest, int max)
    {
        var n = Math.Min(source.Length, max);
        source.AsSpan(0, n).CopyTo(dest);
        return UsbTransferResult.Ok(n);
    }

    private int _transfersInProgress;

    /// <summary>Transfers the device has been handed and not yet finished (a read waiting for data, say).</summary>
    public int TransfersInProgress => Volatile.Read(ref _transfersInProgress);

    public async Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (Gone.IsCancellationRequested) return UsbTransferResult.Failed(UsbStatus.IoError);
        Interlocked.Increment(ref _transfersInProgress);
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Gone);
            switch (endpoint)
            {
                case 0x01:
                    await _loop.Writer.WriteAsync(buffer.ToArray(), linked.Token);
                    return UsbTransferResult.Ok(buffer.Length);
                case 0x81:
                    var data = await _loop.Reader.ReadAsync(linked.Token);
                    var n = Math.Min(data.Length, buffer.Length);
                    data.AsSpan(0, n).CopyTo(buffer.Span);
                    return UsbTransferResult.Ok(n);
                case 0x02:
                    lock (InterruptOut) InterruptOut.Add(buffer.ToArray());
                    return UsbTransferResult.Ok(buffer.Length);
                case 0x82:
                    var b = await _interrupts.Reader.ReadAsync(linked.Token);
                    buffer.Span[0] = b;
                    return UsbTransferResult.Ok(1);
                default:
                    return UsbTransferResult.Failed(UsbStatus.Stall);
            }
        }
        catch (OperationCanceledException)
        {
            return UsbTransferResult.Failed(Gone.IsCancellationRequested ? UsbStatus.IoError : UsbStatus.Cancelled);
        }
        finally
        {
            Interlocked.Decrement(ref _transfersInProgress);
        }
    }

    public Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ClearHalts);
        return Task.FromResult(UsbStatus.Success);
    }

    public Task<UsbStatus> ResetAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Resets);
        _configuration = 0;
        return Task.FromResult(UsbStatus.Success);
    }

    public ValueTask DisposeAsync()
    {
        _gone.Cancel();
        return ValueTask.CompletedTask;
    }
}
