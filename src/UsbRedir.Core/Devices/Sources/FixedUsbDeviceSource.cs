namespace UsbRedir.Devices.Sources;

/// <summary>
/// One device object, exported as it is: <see cref="AcquireAsync"/> yields it until it goes away, then null, so the
/// connection ends with the device (a software device that ends is not re-created). The device stays its owner's:
/// releasing it does nothing. Two fixed sources over the same object are equal, which is how a second connection of one
/// device is refused.
/// </summary>
public sealed class FixedUsbDeviceSource(IUsbDevice device) : IUsbDeviceSource
{
    public IUsbDevice Device { get; } = device ?? throw new ArgumentNullException(nameof(device));

    public string Identity => Device.Description;

    public Task<IUsbDevice?> AcquireAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Device.Gone.IsCancellationRequested ? null : Device);
    }

    public ValueTask ReleaseAsync(IUsbDevice device) => ValueTask.CompletedTask;

    public override bool Equals(object? obj) => obj is FixedUsbDeviceSource other && ReferenceEquals(other.Device, Device);

    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Device);

    public override string ToString() => Identity;
}
