using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

/// <summary>
/// Isochronous OUT on the usb-guest side. The first transfer starts the host's stream; each packet goes out at once as an
/// iso_packet (the host buffers them and plays them at the device's rate), and the transfer completes once its packets'
/// bus time has passed on the endpoint's clock, so a producer is paced at the endpoint's rate however fast it submits.
/// </summary>
/// <remarks>
/// The clock starts at the first packet and runs on while transfers follow each other; a producer that falls behind
/// (the clock is in the past) restarts it at the present, as a real bus would not wait for it either. usbredir cannot
/// report OUT errors per packet: the host sends an unsolicited iso_stream_status, which the next transfer reports on every
/// packet (like QEMU, which gives it to the next packet). Packets are sent in submission order under the stream's gate;
/// the send queue is not waited on, since the pacing already bounds what one endpoint can queue.
/// </remarks>
internal sealed class IsoOutStream(RemoteUsbDevice device, UsbRedirGuestSession session, byte endpoint, TimeProvider time)
    : GuestIsoStream(device, session, endpoint, time)
{
    private readonly LinkedList<Writer> _writers = new();
    private TimeSpan _busTimeEnd;

    private sealed class Writer(UsbIsoPacketResult[] results) : GuestIsoTransfer(results.Length)
    {
        public UsbIsoPacketResult[] Results { get; } = results;
    }

    public async Task<UsbIsoTransferResult> TransferAsync(ReadOnlyMemory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets, IsoStreamPlan plan,
        CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return UsbIsoTransferResult.Failed(UsbStatus.Cancelled, packets.Count);
        Writer writer;
        TimeSpan due;
        lock (Gate)
        {
            if (EnsureStarted(plan) is { } failure)
                return UsbIsoTransferResult.Failed(failure, packets.Count);
            foreach (var p in packets)
            {
                var header = new IsoPacketHeader(Endpoint, UsbStatus.Success, (ushort)p.Length);
                if (!Session.SendData(0, header, buffer.Span.Slice(p.Offset, p.Length)))
                    return UsbIsoTransferResult.Failed(DeviceGone ? UsbStatus.IoError : UsbStatus.Invalid, packets.Count);
            }
            var reported = TakePendingError() ?? UsbStatus.Success;
            writer = new Writer(packets.Select(p => new UsbIsoPacketResult(reported, reported == UsbStatus.Success ? p.Length : 0)).ToArray());
            var busStart = _busTimeEnd > Now ? _busTimeEnd : Now;
            _busTimeEnd = busStart + plan.Period * packets.Count;
            due = _busTimeEnd;
            _writers.AddLast(writer);
        }
        return await WaitAsync(writer, due, () => OnBusTimePassed(writer), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The packets already sent are the host's now; the error waits for the next transfer.</summary>
    protected override void OnFailed(UsbStatus status, bool stopped) { }

    protected override void CompletePending(UsbStatus status)
    {
        _busTimeEnd = TimeSpan.Zero;
        foreach (var writer in _writers.ToArray())
            Complete(writer, UsbIsoTransferResult.Failed(status, writer.Results.Length));
    }

    private void OnBusTimePassed(Writer writer)
    {
        lock (Gate)
            if (!writer.Done)
                Complete(writer, new UsbIsoTransferResult(UsbStatus.Success, writer.Results));
    }

    protected override void Forget(GuestIsoTransfer pending) => _writers.Remove((Writer)pending);
}
