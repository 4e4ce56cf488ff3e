namespace UsbRedir.Devices.Software;

/// <summary>
/// A bulk or interrupt transfer the device could not complete yet (the USB "NAK" state), waiting in its
/// endpoint's FIFO until the device has data, the caller cancels, or the device resets or goes away.
/// </summary>
internal sealed class PendingEndpointTransfer
{
    public PendingEndpointTransfer(EndpointState endpoint, Memory<byte> buffer, uint streamId = 0)
    {
        Endpoint = endpoint;
        Buffer = buffer;
        StreamId = streamId;
    }

    /// <summary>The bulk stream it moves data on; 0 for an ordinary transfer.</summary>
    public uint StreamId { get; }

    public EndpointState Endpoint { get; }

    public Memory<byte> Buffer { get; }

    /// <summary>Continuations run asynchronously: completion happens under the device lock.</summary>
    public TaskCompletionSource<UsbTransferResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LinkedListNode<PendingEndpointTransfer>? Node { get; set; }

    public CancellationTokenRegistration Registration { get; set; }
}
