using UsbRedir.Filtering;

namespace UsbRedir.Sessions;

/// <summary>How a <see cref="UsbRedirGuestSession"/> treats the devices a usb-host peer announces.</summary>
public sealed record UsbRedirGuestOptions
{
    /// <summary>
    /// Which devices to accept (usbredirfilter rules), or null to accept every device. The rules are also sent to the
    /// peer (filter_filter) so it can tell its user beforehand; a device they refuse gets filter_reject.
    /// </summary>
    public IReadOnlyList<UsbRedirFilterRule>? Filter { get; init; }

    /// <summary>
    /// More rules a device must also pass, for this peer only (a server's per-client device policy, from the client's
    /// <c>authorized_clients</c> entry), or null. A device is accepted only when <see cref="Filter"/> and these both allow it;
    /// otherwise it gets filter_reject like any refused device.
    /// </summary>
    public IReadOnlyList<UsbRedirFilterRule>? ClientFilter { get; init; }

    /// <summary>Flags for the filter check (e.g. DefaultAllow when no rule matching should mean yes).</summary>
    public UsbRedirFilterCheckFlags FilterFlags { get; init; }

    /// <summary>
    /// How long a request that must be answered (control transfer, set/get configuration or alt setting, start of
    /// interrupt receiving) may wait for the peer before it completes with <see cref="Devices.UsbStatus.Timeout"/>.
    /// The reference host answers control transfers within 5 s, so the default leaves it room.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After cancel_data_packet, how long to wait for the peer's answer before completing the transfer locally as cancelled.</summary>
    public TimeSpan CancelGrace { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Interrupt IN packets kept per endpoint while nobody reads them; older ones are dropped beyond this.</summary>
    public int InterruptQueueLimit { get; init; } = 64;

    /// <summary>The clock isochronous transfers are paced by (a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// True (the default, as a server wants) to close the connection once a device the filter refused has been
    /// disconnected by the peer; false to stay connected and wait for the next device, as QEMU does.
    /// </summary>
    public bool CloseAfterReject { get; init; } = true;

    internal void Validate()
    {
        if (RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), "RequestTimeout must be positive.");
        if (CancelGrace < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(CancelGrace), "CancelGrace must not be negative.");
        ArgumentOutOfRangeException.ThrowIfLessThan(InterruptQueueLimit, 1);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
