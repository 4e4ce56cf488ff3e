namespace UsbRedir.Devices.Software;

/// <summary>
/// An isochronous transfer on the bus schedule: its packets own the service intervals from <see cref="FirstInterval"/> on,
/// one each, and it completes once the last of them has passed (<see cref="Due"/>), unless cancelled, reset or halted first.
/// </summary>
internal sealed class PendingIsoTransfer(EndpointState endpoint, Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets, long firstInterval, TimeSpan due)
{
    public EndpointState Endpoint { get; } = endpoint;

    public Memory<byte> Buffer { get; } = buffer;

    public IReadOnlyList<UsbIsoPacket> Packets { get; } = packets;

    public long FirstInterval { get; } = firstInterval;

    /// <summary>Time since the device's iso clock started at which the transfer completes.</summary>
    public TimeSpan Due { get; } = due;

    /// <summary>Continuations run asynchronously: completion happens under the device lock.</summary>
    public TaskCompletionSource<UsbIsoTransferResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LinkedListNode<PendingIsoTransfer>? Node { get; set; }

    public CancellationTokenRegistration Registration { get; set; }
}
