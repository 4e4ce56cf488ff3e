using UsbRedir.Devices;
using UsbRedir.Protocol;

namespace UsbRedir.Sessions;

// The record of one transfer the device is running, and the per-session pool it comes from. A transfer used to cost
// a HostTransfer, a CancellationTokenSource linked to the session's, a failure closure and a reply closure (about
// 300 bytes); a pooled record with its own reusable source costs nothing once the pool is warm.
public sealed partial class UsbRedirHostSession
{
    /// <summary>Records kept for reuse: enough for the transfers a guest keeps in flight (QEMU: up to 32 per endpoint).</summary>
    private const int PooledTransfersKept = 64;

    private readonly Stack<HostTransfer> _transferPool = new();

    /// <summary>
    /// A transfer submitted to the device and not yet answered. Which header answers it is kept as data (not as a
    /// closure) so one record serves control, bulk and interrupt transfers and can be reused.
    /// <para>Reuse is safe because a record goes back to the pool only when nothing can touch it any more: it counts its
    /// <see cref="Holders"/> under the <c>_pending</c> lock. The runner (the code awaiting the device) holds it from
    /// <see cref="RentTransfer"/> until it has sent its reply; a canceller (the guest's cancel, session end, device
    /// release) takes a hold only while the record is still in <c>_pending</c>, which is before the runner lets go, so
    /// the count never rises from zero; it lets go after its Cancel() and its "cancelled" reply. Whoever lets go last
    /// returns it (<see cref="ReleaseTransfer"/>). The device's task has completed by then, so the device is done
    /// with the token too.</para>
    /// </summary>
    private sealed class HostTransfer
    {
        public ulong Id;
        /// <summary>Control, bulk or interrupt: which of the headers below the answer is built from.</summary>
        public UsbRedirPacketType Type;
        public ControlPacketHeader Control;
        public BulkPacketHeader Bulk;
        public InterruptPacketHeader Interrupt;
        /// <summary>Bulk and interrupt transfers: the data buffer (rented), until the answer has gone.</summary>
        public byte[]? Buffer;
        /// <summary>
        /// For one that keeps its endpoint's order (<see cref="Ordered"/>, see <c>_answerOrder</c>): its result, held while
        /// an older one of the endpoint is still unanswered.
        /// </summary>
        public bool Ready;
        public UsbTransferResult Result;

        // Bulk and interrupt transfers: what the answer needs, from the header the peer sent.
        public byte Endpoint => Type == UsbRedirPacketType.BulkPacket ? Bulk.Endpoint : Interrupt.Endpoint;
        public int Length => Type == UsbRedirPacketType.BulkPacket ? (int)Bulk.Length : Interrupt.Length;
        public bool IsIn => (Endpoint & 0x80) != 0;
        /// <summary>The USB 3 bulk stream (0: none); the device refuses one that was never allocated.</summary>
        public uint StreamId => Type == UsbRedirPacketType.BulkPacket ? Bulk.StreamId : 0;
        /// <summary>A bulk transfer without a stream: answered in the order of its endpoint's queue.</summary>
        public bool Ordered => Type == UsbRedirPacketType.BulkPacket && StreamId == 0;
        /// <summary>Set under the <c>_pending</c> lock by whoever claims the answer (the runner or a canceller).</summary>
        public bool Answered;
        /// <summary>Runner plus cancellers still using the record; changed only under the <c>_pending</c> lock.</summary>
        public int Holders;
        public CancellationTokenSource Cancellation = new();
    }

    /// <summary>A clean record for <paramref name="id"/>, held by the caller (the runner).</summary>
    private HostTransfer RentTransfer(ulong id, UsbRedirPacketType type)
    {
        HostTransfer? transfer;
        lock (_transferPool)
            _transferPool.TryPop(out transfer);
        transfer ??= new HostTransfer();
        transfer.Id = id;
        transfer.Type = type;
        transfer.Answered = false;
        transfer.Holders = 1;
        return transfer;
    }

    /// <summary>
    /// Lets go of <paramref name="transfer"/>; the last holder resets it and returns it to the pool.
    /// </summary>
    private void ReleaseTransfer(HostTransfer transfer)
    {
        lock (_pending)
        {
            if (--transfer.Holders != 0)
                return;
        }
        // Nobody else can reach it now (see HostTransfer), which is what TryReset requires: its owner alone, nobody
        // left who may cancel. A source that was cancelled cannot be reset. A control transfer's is not reused either:
        // RunControlAsync arms a CancelAfter timer on it, which may be firing at this moment, and TryReset is not safe
        // against a concurrent cancel (it could cancel the next transfer). TryReset also drops registrations a device
        // left behind.
        if (transfer.Type == UsbRedirPacketType.ControlPacket || !transfer.Cancellation.TryReset())
        {
            transfer.Cancellation.Dispose();
            transfer.Cancellation = new CancellationTokenSource();
        }
        lock (_transferPool)
            if (_transferPool.Count < PooledTransfersKept)
                _transferPool.Push(transfer);
    }

    /// <summary>Sends the transfer's answer: its header with <paramref name="status"/> and <paramref name="length"/>.</summary>
    private bool Answer(HostTransfer transfer, UsbStatus status, int length = 0, ReadOnlySpan<byte> data = default) => transfer.Type switch
    {
        UsbRedirPacketType.ControlPacket => TrySend(transfer.Id, transfer.Control with { Status = status, Length = (ushort)length }, data),
        UsbRedirPacketType.BulkPacket => TrySend(transfer.Id, transfer.Bulk with { Status = status, Length = (uint)length }, data),
        _ => TrySend(transfer.Id, transfer.Interrupt with { Status = status, Length = (ushort)length }, data),
    };
}
