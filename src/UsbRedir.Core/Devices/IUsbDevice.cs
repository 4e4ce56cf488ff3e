namespace UsbRedir.Devices;

/// <summary>
/// One USB device as every engine sees it: a software device, a local real device (libusb),
/// or a remote device reached through the usbredir guest role. The usbredir host role exports
/// an <see cref="IUsbDevice"/>; a virtual host controller port plugs one in.
/// </summary>
/// <remarks>
/// Contract:
/// <list type="bullet">
/// <item>Transfers may be submitted concurrently from any thread; each completes exactly once.</item>
/// <item>Cancelling the token of a pending transfer completes it promptly with
///   <see cref="UsbStatus.Cancelled"/> (or with its real result if it had already finished).</item>
/// <item>Standard requests SET_CONFIGURATION / SET_INTERFACE arrive through the dedicated methods,
///   never as control transfers: callers that see them as control transfers (a kernel HCD) route them there.</item>
/// <item>After <see cref="Gone"/> is cancelled (device unplugged or connection lost) every pending and
///   later transfer completes with <see cref="UsbStatus.IoError"/>.</item>
/// </list>
/// </remarks>
public interface IUsbDevice : IAsyncDisposable
{
    /// <summary>Short human description, e.g. "UsbRedir virtual disk (stick.img, 16 MiB)".</summary>
    string Description { get; }

    UsbSpeed Speed { get; }

    /// <summary>The 18-byte device descriptor.</summary>
    ReadOnlyMemory<byte> DeviceDescriptor { get; }

    /// <summary>Every configuration descriptor with its interfaces and endpoints (wTotalLength bytes each), in index order.</summary>
    IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors { get; }

    /// <summary>bConfigurationValue of the active configuration, or 0 when unconfigured.</summary>
    byte ActiveConfiguration { get; }

    /// <summary>The selected alternate setting of an interface in the active configuration (0 when unknown).</summary>
    byte GetAlternateSetting(byte interfaceNumber);

    /// <summary>Cancelled when the device goes away for good.</summary>
    CancellationToken Gone { get; }

    Task<UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken);

    Task<UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken);

    /// <summary>
    /// A control transfer on endpoint 0. For host-to-device requests <paramref name="data"/> holds the
    /// wLength bytes to send; for device-to-host requests it is the buffer (at least wLength bytes) to fill.
    /// </summary>
    Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// A bulk or interrupt transfer. The direction is bit 7 of <paramref name="endpoint"/>: for OUT the buffer is
    /// the data to send, for IN it is filled with up to its length.
    /// </summary>
    Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Clears a halt (stall) condition on an endpoint.</summary>
    Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken);

    /// <summary>A USB port reset: pending transfers complete with Cancelled, the device returns to its default state.</summary>
    Task<UsbStatus> ResetAsync(CancellationToken cancellationToken);
}
