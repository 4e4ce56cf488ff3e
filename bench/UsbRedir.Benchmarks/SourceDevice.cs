using UsbRedir.Devices;

namespace UsbRedir.Benchmarks;

/// <summary>
/// A software source device for the transport benchmark: bulk IN 0x81 completes every transfer at once with a full
/// buffer (its bytes are whatever the buffer holds: no device-side copy to measure), bulk OUT 0x01 swallows data, and
/// GET_DESCRIPTOR answers at once. So everything measured is the usbredir path, not the device.
/// </summary>
internal sealed class SourceDevice : IUsbDevice
{
    private static readonly byte[] Descriptor = [18, 1, 0x00, 0x02, 0xFF, 0, 0, 64, 0x09, 0x12, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 1];

    private static readonly byte[] Configuration =
    [
        9, 2, 32, 0, 1, 1, 0, 0x80, 50,
        9, 4, 0, 0, 2, 0xFF, 0, 0, 0,
        7, 5, 0x81, 2, 0x00, 0x02, 0,
        7, 5, 0x01, 2, 0x00, 0x02, 0,
    ];

    private readonly CancellationTokenSource _gone = new();
    private byte _configuration = 1;

    public string Description => "benchmark source device";
    public UsbSpeed Speed => UsbSpeed.High;
    public ReadOnlyMemory<byte> DeviceDescriptor => Descriptor;
    public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors => [Configuration];
    public byte ActiveConfiguration => _configuration;
    public byte GetAlternateSetting(byte interfaceNumber) => 0;
    public CancellationToken Gone => _gone.Token;

    public Task<UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken)
    {
        if (configurationValue > 1) return Task.FromResult(UsbStatus.Stall);
        _configuration = configurationValue;
        return Task.FromResult(UsbStatus.Success);
    }

    public Task<UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken) =>
        Task.FromResult(interfaceNumber == 0 && alternateSetting == 0 ? UsbStatus.Success : UsbStatus.Stall);

    public Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken)
    {
        var source = setup is { RequestType: 0x80, Request: 6 } ? (setup.Value >> 8) switch { 1 => Descriptor, 2 => Configuration, _ => null } : null;
        if (source is null) return Task.FromResult(UsbTransferResult.Failed(UsbStatus.Stall));
        var n = Math.Min(Math.Min(source.Length, setup.Length), data.Length);
        source.AsSpan(0, n).CopyTo(data.Span);
        return Task.FromResult(UsbTransferResult.Ok(n));
    }

    public Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken) =>
        Task.FromResult(endpoint is 0x81 or 0x01 ? UsbTransferResult.Ok(buffer.Length) : UsbTransferResult.Failed(UsbStatus.Stall));

    public Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken) => Task.FromResult(UsbStatus.Success);

    public Task<UsbStatus> ResetAsync(CancellationToken cancellationToken) => Task.FromResult(UsbStatus.Success);

    public ValueTask DisposeAsync()
    {
        _gone.Cancel();
        return ValueTask.CompletedTask;
    }
}
