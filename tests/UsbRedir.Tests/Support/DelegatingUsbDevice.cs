using UsbRedir.Devices;

namespace UsbRedir.Tests.Support;

/// <summary>
/// Passes every member of <see cref="IUsbDevice"/> to another device; a test device derives from it and overrides what
/// it changes (how transfers finish, say). The isochronous and stream members keep the interface's defaults.
/// </summary>
internal abstract class DelegatingUsbDevice(IUsbDevice inner) : IUsbDevice
{
    protected IUsbDevice Inner => inner;

    public virtual string Description => inner.Description;
    public virtual UsbSpeed Speed => inner.Speed;
    public virtual ReadOnlyMemory<byte> DeviceDescriptor => inner.DeviceDescriptor;
    public virtual IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors => inner.ConfigurationDescriptors;
    public virtual byte ActiveConfiguration => inner.ActiveConfiguration;
    public virtual byte GetAlternateSetting(byte interfaceNumber) => inner.GetAlternateSetting(interfaceNumber);
    public virtual CancellationToken Gone => inner.Gone;
    public virtual Task<UsbStatus> SetConfigurationAsync(byte value, CancellationToken ct) => inner.SetConfigurationAsync(value, ct);
    public virtual Task<UsbStatus> SetAlternateSettingAsync(byte i, byte alt, CancellationToken ct) => inner.SetAlternateSettingAsync(i, alt, ct);
    public virtual Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken ct) =>
        inner.ControlTransferAsync(setup, data, ct);
    public virtual Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken ct) => inner.TransferAsync(endpoint, buffer, ct);
    public virtual Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken ct) => inner.ClearHaltAsync(endpoint, ct);
    public virtual Task<UsbStatus> ResetAsync(CancellationToken ct) => inner.ResetAsync(ct);
    public virtual ValueTask DisposeAsync() => inner.DisposeAsync();
}
