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
/// <item>Isochronous transfers are paced by the bus: one completes once each of its packets has had its (micro)frame
///   (bInterval-spaced), so a caller that keeps a few queued moves data at the endpoint's rate, never faster.</item>
/// <item>Bulk streams (USB 3) exist only between <see cref="AllocateStreamsAsync"/> and <see cref="FreeStreamsAsync"/>
///   (or a reset, configuration or alternate-setting change), on endpoints whose SuperSpeed companion descriptor offers them.</item>
/// </list>
/// The isochronous and stream members have defaults for devices without such endpoints: they refuse with
/// <see cref="UsbStatus.Invalid"/>, exactly what a device answers for an endpoint it does not have.
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

    /// <summary>
    /// An isochronous transfer of <paramref name="packets"/> on an iso endpoint of the active configuration. The direction is
    /// bit 7 of <paramref name="endpoint"/>: for OUT each packet's bytes are sent, for IN each packet is filled with up to its length.
    /// </summary>
    Task<UsbIsoTransferResult> IsoTransferAsync(byte endpoint, Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets,
        CancellationToken cancellationToken) =>
        Task.FromResult(UsbIsoTransferResult.Failed(UsbStatus.Invalid, packets.Count));

    /// <summary>
    /// Allocates bulk streams 1..<paramref name="streams"/> on each of <paramref name="endpoints"/> (SuperSpeed bulk endpoints).
    /// The result says how many were granted; callers that need them all treat fewer as failure.
    /// </summary>
    Task<UsbStreamsResult> AllocateStreamsAsync(IReadOnlyList<byte> endpoints, int streams, CancellationToken cancellationToken) =>
        Task.FromResult(new UsbStreamsResult(UsbStatus.Invalid, 0));

    /// <summary>Frees the bulk streams of <paramref name="endpoints"/>; their pending stream transfers complete with Cancelled.</summary>
    Task<UsbStatus> FreeStreamsAsync(IReadOnlyList<byte> endpoints, CancellationToken cancellationToken) =>
        Task.FromResult(UsbStatus.Invalid);

    /// <summary>A bulk transfer on stream <paramref name="streamId"/> (1..allocated) of a bulk endpoint; stream 0 is a plain <see cref="TransferAsync"/>.</summary>
    Task<UsbTransferResult> StreamTransferAsync(byte endpoint, uint streamId, Memory<byte> buffer, CancellationToken cancellationToken) =>
        streamId == 0 ? TransferAsync(endpoint, buffer, cancellationToken) : Task.FromResult(UsbTransferResult.Failed(UsbStatus.Invalid));
}
