namespace UsbRedir.Devices;

/// <summary>
/// A device that can complete a bulk or interrupt transfer on the thread that learns its result (a libusb device: the
/// context's event thread), running the caller's continuation right there instead of handing it to the thread pool.
/// For callers whose continuation only answers and never blocks (the usbredir host role sends its reply there and the
/// bytes leave on that thread, as usbredirhost's completion callback writes to the socket): a thread wake-up less per
/// transfer. A continuation that blocks would hold up every other completion of the device.
/// </summary>
internal interface IInlineCompletingDevice
{
    /// <summary>
    /// As <see cref="IUsbDevice.TransferAsync"/> (<paramref name="streamId"/> 0) or <see cref="IUsbDevice.StreamTransferAsync"/>,
    /// but the task's continuations run synchronously on the completing thread.
    /// </summary>
    Task<UsbTransferResult> TransferCompletingInlineAsync(byte endpoint, uint streamId, Memory<byte> buffer, CancellationToken cancellationToken);
}
