namespace UsbRedir.Devices;

/// <summary>
/// A device that can report a bulk or interrupt transfer's result on the thread that learns it (a libusb device: the
/// context's event thread), calling the caller back right there instead of completing a task. The results of one
/// endpoint then reach the caller in the order the device finished them, which a task cannot promise: an <c>await</c>
/// that registers just as the task completes is resumed on the thread pool, behind later results. A usbredir peer may
/// depend on that order (QEMU's usb-redir pipelines bulk OUT packets and aborts when one is answered before an older
/// one on the same endpoint); usbredirhost's completion callback writes its reply to the socket in the same way.
/// For callers whose callback only answers and never blocks: a callback that blocks holds up every other completion of
/// the device.
/// </summary>
internal interface IInlineCompletingDevice
{
    /// <summary>
    /// Starts a transfer as <see cref="IUsbDevice.TransferAsync"/> (<paramref name="streamId"/> 0) or
    /// <see cref="IUsbDevice.StreamTransferAsync"/> would, and calls <paramref name="done"/> with its result and
    /// <paramref name="state"/> exactly once: on the completing thread, or on this one before returning when the transfer
    /// is refused at once. Throws only before anything was submitted, and then never calls <paramref name="done"/>.
    /// </summary>
    void StartTransfer(byte endpoint, uint streamId, Memory<byte> buffer, Action<UsbTransferResult, object> done, object state,
        CancellationToken cancellationToken);
}
