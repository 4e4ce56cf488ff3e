using UsbRedir.Devices;
using UsbRedir.Devices.Software;

namespace UsbRedir.Tests.Support;

/// <summary>
/// A SuperSpeed vendor-class device with USB 3 bulk streams, to prove stream ids end to end. Interface 0 alternate setting 0
/// has bulk OUT 0x01 and bulk IN 0x81 with 16 streams each; alternate setting 1 has the same endpoints without streams.
/// What is written to stream s of 0x01 is kept for stream s: a read of stream s on 0x81 returns the last write to stream s,
/// and waits (in that stream's queue only) while nothing was written there. Stream 0 (a plain transfer) works the same way
/// while no streams are allocated.
/// </summary>
internal sealed class StreamsTestDevice : SoftwareUsbDevice
{
    public const ushort VendorId = 0x1209, ProductId = 0x5354;
    public const byte BulkOut = 0x01, BulkIn = 0x81;
    public const int Streams = 16;

    private readonly Dictionary<uint, byte[]> _written = [];

    public StreamsTestDevice() : base(UsbSpeed.Super, Build(), "UsbRedir streams test device")
    {
    }

    /// <summary>Allocations and frees the host made: (endpoint, streams), 0 streams for a free.</summary>
    public List<(byte Endpoint, int Streams)> StreamChanges { get; } = [];

    public int AllocatedStreams(byte endpoint)
    {
        lock (SyncRoot)
            return GetAllocatedStreams(endpoint);
    }

    private static UsbDescriptorSet Build()
    {
        UsbEndpointDefinition Endpoint(byte address, byte streamsExponent) =>
            new(address, UsbEndpointType.Bulk, 1024, 0) { MaxBurst = 15, MaxStreamsExponent = streamsExponent };
        UsbInterfaceDefinition Setting(byte alt, byte streamsExponent) =>
            new(0, alt, 0xFF, 0, 0, alt == 0 ? "streams" : "no streams", [Endpoint(BulkOut, streamsExponent), Endpoint(BulkIn, streamsExponent)]);
        var definition = new UsbDeviceDefinition(VendorId, ProductId, 0x0100, 0, 0, 0, DescriptorBuilder.SuperSpeedMaxPacketSize0,
            "UsbRedir", "Streams Test Device", "STREAMS1",
            [new UsbConfigurationDefinition(1, null, 0, 100, [Setting(0, 4), Setting(1, 0)])])
        { UsbRelease = UsbDeviceDefinition.UsbRelease3 };
        return DescriptorBuilder.Build(definition, null);
    }

    protected override UsbTransferResult? TryTransfer(byte endpoint, Memory<byte> buffer) => Move(endpoint, 0, buffer);

    protected override UsbTransferResult? TryStreamTransfer(byte endpoint, uint streamId, Memory<byte> buffer) => Move(endpoint, streamId, buffer);

    private UsbTransferResult? Move(byte endpoint, uint stream, Memory<byte> buffer)
    {
        if (endpoint == BulkOut)
        {
            _written[stream] = buffer.ToArray();
            return UsbTransferResult.Ok(buffer.Length);
        }
        if (!_written.TryGetValue(stream, out var data))
            return null; // nothing on this stream yet: wait
        var n = Math.Min(data.Length, buffer.Length);
        data.AsSpan(0, n).CopyTo(buffer.Span);
        return UsbTransferResult.Ok(n);
    }

    protected override void OnStreamsChanged(byte endpoint, int streams) => StreamChanges.Add((endpoint, streams));

    protected override void OnReset() => _written.Clear();
}
