using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;

namespace UsbRedir.Tests.Support;

/// <summary>
/// A high-speed vendor-class device with isochronous endpoints, for the iso tests: interface 0 has alt 0 without endpoints
/// (the bandwidth-free default a driver starts in) and alt 1 with iso IN 0x81 and iso OUT 0x02, each
/// <see cref="MaxPacketSize"/> bytes every 1 ms (bInterval 4 = 8 microframes: a rate TCG guests keep up with).
/// IN packet n carries n (32-bit little endian) and a pattern derived from it, <see cref="InLength"/>(n) bytes long, so
/// lengths are proven to pass through; OUT packets are recorded in order. tests/interop/libusb_iso_client.c builds the same
/// packets.
/// </summary>
internal sealed class IsoTestDevice : SoftwareUsbDevice
{
    public const ushort VendorId = 0x1209;
    public const ushort ProductId = 0x0010;
    public const byte InEndpoint = 0x81;
    public const byte OutEndpoint = 0x02;
    public const ushort MaxPacketSize = 192;
    public const byte Interval = 4;

    private readonly List<byte[]> _received = [];
    private readonly Dictionary<uint, UsbStatus> _inFailures = [];
    private readonly Dictionary<int, UsbStatus> _outFailures = [];
    private uint _nextSequence;
    private int _outOffered;

    public IsoTestDevice(TimeProvider? clock = null)
        : base(UsbSpeed.High, DescriptorBuilder.Build(Definition(), null), "UsbRedir iso test device")
    {
        TimeProvider = clock ?? TimeProvider.System;
    }

    /// <summary>Length of IN packet <paramref name="sequence"/>: 4 to <see cref="MaxPacketSize"/> bytes.</summary>
    public static int InLength(uint sequence) => 4 + (int)(sequence * 37 % (MaxPacketSize - 3));

    /// <summary>IN packet <paramref name="sequence"/>, exactly as the device sends it.</summary>
    public static byte[] InPacket(uint sequence)
    {
        var packet = new byte[InLength(sequence)];
        BinaryPrimitives.WriteUInt32LittleEndian(packet, sequence);
        for (var i = 4; i < packet.Length; i++)
            packet[i] = (byte)(sequence * 7 + i);
        return packet;
    }

    /// <summary>IN packets produced so far (the next one carries this sequence number).</summary>
    public uint InProduced { get { lock (SyncRoot) return _nextSequence; } }

    /// <summary>OUT packets consumed, in bus order.</summary>
    public IReadOnlyList<byte[]> Received { get { lock (SyncRoot) return _received.ToArray(); } }

    /// <summary>Iso transfers waiting on <paramref name="endpoint"/> for their intervals.</summary>
    public int Scheduled(byte endpoint)
    {
        lock (SyncRoot) return ScheduledIsoTransfers(endpoint);
    }

    /// <summary>Makes IN packet <paramref name="sequence"/> fail with <paramref name="status"/> (its number is used up all the same).</summary>
    public void FailInPacket(uint sequence, UsbStatus status)
    {
        lock (SyncRoot) _inFailures[sequence] = status;
    }

    /// <summary>Makes the <paramref name="index"/>-th OUT packet (0-based, counting every packet offered) fail with <paramref name="status"/>.</summary>
    public void FailOutPacket(int index, UsbStatus status)
    {
        lock (SyncRoot) _outFailures[index] = status;
    }

    /// <summary>Stalls an endpoint as a device does on an internal error; <paramref name="wedge"/> keeps it stalled through clear-halt.</summary>
    public void Halt(byte endpoint, bool wedge = false)
    {
        lock (SyncRoot) HaltEndpoint(endpoint, wedge);
    }

    protected override UsbIsoPacketResult ProduceIsoPacket(byte endpoint, long interval, Span<byte> packet)
    {
        var sequence = _nextSequence++;
        if (_inFailures.Remove(sequence, out var failure))
            return new UsbIsoPacketResult(failure, 0);
        var data = InPacket(sequence);
        var n = Math.Min(data.Length, packet.Length);
        data.AsSpan(0, n).CopyTo(packet);
        return new UsbIsoPacketResult(UsbStatus.Success, n);
    }

    protected override UsbStatus ConsumeIsoPacket(byte endpoint, long interval, ReadOnlySpan<byte> packet)
    {
        if (_outFailures.Remove(_outOffered++, out var failure))
            return failure;
        _received.Add(packet.ToArray());
        return UsbStatus.Success;
    }

    protected override UsbTransferResult? TryTransfer(byte endpoint, Memory<byte> buffer) => UsbTransferResult.Failed(UsbStatus.Invalid);

    private static UsbDeviceDefinition Definition() => new(VendorId, ProductId, 0x0100, 0, 0, 0, 64,
        "UsbRedir", "UsbRedir iso test device", "ISO0001",
        [
            new UsbConfigurationDefinition(1, null, 0, 100,
            [
                new UsbInterfaceDefinition(0, 0, 0xFF, 0, 0, null, []),
                new UsbInterfaceDefinition(0, 1, 0xFF, 0, 0, null,
                [
                    new UsbEndpointDefinition(InEndpoint, UsbEndpointType.Isochronous, MaxPacketSize, Interval) { Synchronization = UsbIsoSynchronization.Asynchronous },
                    new UsbEndpointDefinition(OutEndpoint, UsbEndpointType.Isochronous, MaxPacketSize, Interval) { Synchronization = UsbIsoSynchronization.Asynchronous },
                ]),
            ]),
        ]);
}
