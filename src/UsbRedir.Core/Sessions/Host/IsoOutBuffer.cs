using UsbRedir.Devices;

namespace UsbRedir.Sessions;

/// <summary>
/// The OUT half of an isochronous stream in the usb-host role, as usbredirhost runs it: the guest streams packets at the
/// endpoint's rate, they fill transfers of <c>packetsPerTransfer</c> packets in a ring of <c>transfers</c>, and nothing
/// reaches the device until half the ring is filled, so the device has a cushion against network jitter. From then on
/// every filled transfer is submitted at once. When the guest runs ahead and the transfer to fill is still at the device
/// (overflow), packets are dropped until the device has played half the ring; when the device runs dry (underflow),
/// the ring fills to half again before submitting resumes. Sans-IO: the caller submits the transfers it is handed and
/// reports their completion. Not thread-safe: the caller serialises.
/// </summary>
internal sealed class IsoOutBuffer
{
    private readonly Transfer[] _ring;
    private readonly Queue<Transfer> _filled = new();
    private int _fill;
    private int _inFlight;
    private int _toDrop;

    public IsoOutBuffer(int packetsPerTransfer, int transfers, int packetSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(packetsPerTransfer, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(transfers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(packetSize, 1);
        PacketsPerTransfer = packetsPerTransfer;
        PacketSize = packetSize;
        _ring = Enumerable.Range(0, transfers).Select(_ => new Transfer(packetsPerTransfer, packetSize)).ToArray();
    }

    public int PacketsPerTransfer { get; }

    public int PacketSize { get; }

    /// <summary>Packets buffered before submitting starts (and restarts after an underflow): half the ring, at least one.</summary>
    public int PrefillPackets => Math.Max(1, PacketsPerTransfer * _ring.Length / 2);

    /// <summary>True while filled transfers go to the device as soon as they are full.</summary>
    public bool Streaming { get; private set; }

    /// <summary>Packets held here, not yet at the device.</summary>
    public int Buffered { get; private set; }

    /// <summary>Transfers at the device.</summary>
    public int InFlight => _inFlight;

    /// <summary>
    /// Takes one packet (at most <see cref="PacketSize"/> bytes, which the caller checks). Transfers that are now due go
    /// to <paramref name="submit"/>, oldest first: the caller hands each to the device and later calls <see cref="Completed"/>.
    /// </summary>
    public IsoOutOutcome Add(ulong id, ReadOnlySpan<byte> packet, List<Transfer> submit)
    {
        if (packet.Length > PacketSize)
            throw new ArgumentException($"An iso packet of {packet.Length} bytes does not fit packets of {PacketSize}.", nameof(packet));
        if (_toDrop > 0)
        {
            _toDrop--;
            return IsoOutOutcome.Dropped;
        }
        var transfer = _ring[_fill];
        if (transfer.AtDevice || transfer.Count == PacketsPerTransfer)
        {
            // The guest is a whole ring ahead of the device: dropping until the device has played half of it brings
            // the stream back to the prefill level instead of dropping one packet in every interval from now on.
            _toDrop = PacketsPerTransfer * _ring.Length / 2;
            return IsoOutOutcome.Overflow;
        }
        if (transfer.Count == 0)
            transfer.FirstId = id;
        packet.CopyTo(transfer.Buffer.AsSpan(transfer.Count * PacketSize));
        transfer.Lengths[transfer.Count++] = packet.Length;
        Buffered++;
        if (transfer.Count == PacketsPerTransfer)
        {
            _filled.Enqueue(transfer);
            _fill = (_fill + 1) % _ring.Length;
        }
        if (!Streaming && Buffered >= PrefillPackets)
            Streaming = true;
        if (Streaming)
        {
            while (_filled.TryDequeue(out var due))
            {
                due.AtDevice = true;
                _inFlight++;
                Buffered -= due.Count;
                submit.Add(due);
            }
        }
        return IsoOutOutcome.Buffered;
    }

    /// <summary>
    /// The device is done with <paramref name="transfer"/> (its slot is free again). True when that was the last one at
    /// the device while streaming: an underflow, after which the ring refills to <see cref="PrefillPackets"/> first.
    /// </summary>
    public bool Completed(Transfer transfer)
    {
        if (!transfer.AtDevice)
            return false;
        transfer.AtDevice = false;
        transfer.Count = 0;
        _inFlight--;
        if (Streaming && _inFlight == 0)
        {
            Streaming = false;
            return true;
        }
        return false;
    }

    /// <summary>One transfer of the ring: <see cref="PacketsPerTransfer"/> packet slots of <see cref="PacketSize"/> bytes.</summary>
    public sealed class Transfer(int packets, int packetSize)
    {
        private readonly int _packetSize = packetSize;

        public byte[] Buffer { get; } = new byte[packets * packetSize];

        public int[] Lengths { get; } = new int[packets];

        public int Count { get; set; }

        public bool AtDevice { get; set; }

        /// <summary>The id of its first packet: unsolicited status about the transfer carries it, as in usbredirhost.</summary>
        public ulong FirstId { get; set; }

        /// <summary>Bumped by the caller on each submission, to tell a stale completion from the current one.</summary>
        public int Generation { get; set; }

        /// <summary>The packets as the device contract wants them: slot i at i × packet size, as long as the guest sent.</summary>
        public UsbIsoPacket[] Packets() =>
            Enumerable.Range(0, Count).Select(i => new UsbIsoPacket(i * _packetSize, Lengths[i])).ToArray();
    }
}
