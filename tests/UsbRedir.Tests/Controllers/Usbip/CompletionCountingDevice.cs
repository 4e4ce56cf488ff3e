using UsbRedir.Devices;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Controllers.Usbip;

/// <summary>
/// Passes everything to another device and counts finished bulk/interrupt transfers, so a test can wait until a
/// cancelled transfer has really ended inside the device (its completion runs on the thread pool, whose timing a busy
/// test host stretches) before it checks that the result was dropped.
/// </summary>
internal sealed class CompletionCountingDevice(IUsbDevice inner) : DelegatingUsbDevice(inner)
{
    private int _finished;
    private TaskCompletionSource? _hold;

    /// <summary>
    /// The next bulk/interrupt transfer finishes only when the returned source is completed, cancelled or not (as real
    /// hardware finishes a transfer it was told to cancel in its own time), with 4 bytes of 0xAA for an IN transfer.
    /// </summary>
    public TaskCompletionSource HoldNextTransfer() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public int FinishedTransfers => Volatile.Read(ref _finished);

    /// <summary>Waits until <paramref name="count"/> transfers have finished, then a moment for their replies.</summary>
    public void WaitForFinished(int count)
    {
        var deadline = DateTime.UtcNow + TestDeadline.Default;
        while (FinishedTransfers < count && DateTime.UtcNow < deadline)
            Thread.Sleep(20);
        Assert.True(FinishedTransfers >= count, $"only {FinishedTransfers} of {count} transfers finished");
        Thread.Sleep(100);
    }

    public override async Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken ct)
    {
        try
        {
            if (Interlocked.Exchange(ref _hold, null) is { } hold)
            {
                await hold.Task;
                buffer.Span[..Math.Min(4, buffer.Length)].Fill(0xAA);
                return UsbTransferResult.Ok((endpoint & 0x80) != 0 ? Math.Min(4, buffer.Length) : buffer.Length);
            }
            return await Inner.TransferAsync(endpoint, buffer, ct);
        }
        finally
        {
            Interlocked.Increment(ref _finished);
        }
    }
}
