using UsbRedir.Devices.Sources;

namespace UsbRedir.Devices.Local;

/// <summary>
/// The device source of an export of a local device, shared by both front ends: it yields the device opened first, and
/// when that one is unplugged, re-opens it as it comes back: at the same busid, or, for a device with a serial number,
/// wherever a device with the same VID:PID and serial appears (it moved port). A different device in the old port is
/// never taken for it. While it waits, a hot-plug watcher wakes it when any USB device is plugged in.
/// </summary>
public static class LocalUsbDeviceSource
{
    /// <summary>A source that owns <paramref name="opened"/> (disposing it, which re-attaches its kernel drivers, when the export ends).</summary>
    /// <param name="notice">Subscribed to <see cref="LocalUsbDevice.Notice"/> of every device re-opened here (the front end
    /// has subscribed to <paramref name="opened"/>'s itself), so a re-attached device reports as the first one did.</param>
    public static ReopeningUsbDeviceSource Create(LocalUsbDevice opened, LocalUsbDeviceOptions? options = null, UsbDeviceEnumerator? enumerator = null,
        Action<string>? notice = null)
    {
        ArgumentNullException.ThrowIfNull(opened);
        var vendorId = opened.VendorId;
        var productId = opened.ProductId;
        var serial = string.IsNullOrEmpty(opened.SerialNumber) ? null : opened.SerialNumber;
        var home = opened.PortPath;
        var identity = serial is null ? $"{vendorId:x4}:{productId:x4} at {home.BusId}" : $"{vendorId:x4}:{productId:x4} serial {serial}";

        ReopeningUsbDeviceSource? source = null;
        var told = new HashSet<string>(); // devices of its kind already reported as not taken, each once
        async Task<IUsbDevice?> ReopenAsync(CancellationToken cancellationToken)
        {
            var devices = (enumerator ?? UsbDeviceEnumerator.FromEnvironment()).GetDevices();
            if (FindAgain(devices, home, vendorId, productId, serial) is not { } match)
            {
                foreach (var (busId, why) in WhyNotTaken(devices, home, vendorId, productId, serial))
                    if (told.Add(busId + "\n" + why))
                        source!.Report($"waiting for {identity}: {why}");
                return null;
            }
            try
            {
                var device = await LocalUsbDevice.OpenAsync(match.PortPath, options, cancellationToken);
                if (notice is not null)
                    device.Notice += notice;
                return device;
            }
            catch (UsbRedirException e) when (e.ErrorId == "UsbDeviceNotFound")
            {
                return null; // gone again between the listing and the open
            }
        }

        // While the device is away a plug wakes the source: the re-attach follows the plug instead of the next try.
        source = new ReopeningUsbDeviceSource(identity, ReopenAsync, initial: opened, watch: changed => WatchPlugs(changed, enumerator));
        return source;
    }

    /// <summary>
    /// Watches for USB devices being plugged in (the kernel's uevents, <see cref="UsbDeviceWatcher"/>) and calls
    /// <paramref name="changed"/> for each, so a device that comes back is re-opened at once instead of at the source's next
    /// try. Null when the uevents cannot be read: the source then finds the device at its next try all the same.
    /// </summary>
    private static UsbDeviceWatcher? WatchPlugs(Action changed, UsbDeviceEnumerator? enumerator)
    {
        var watcher = new UsbDeviceWatcher(enumerator);
        watcher.DeviceChanged += (_, e) =>
        {
            if (e.Kind == UsbDeviceEventKind.Added)
                changed();
        };
        try
        {
            watcher.Start();
            return watcher;
        }
        catch (UsbRedirException)
        {
            watcher.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Why each device of the exported one's kind (same VID:PID) among <paramref name="devices"/> is not taken for it while
    /// it is away: another serial number (QEMU's emulated devices make theirs from their port, so one re-added at another
    /// port is another device), or no serial number at another port. Busid and reason, for the connection's log, so a user
    /// whose re-plugged device stays unexported sees why.
    /// </summary>
    internal static IEnumerable<(string BusId, string Why)> WhyNotTaken(IEnumerable<UsbDeviceInfo> devices, UsbPortPath home, ushort vendorId,
        ushort productId, string? serial)
    {
        foreach (var d in devices.Where(d => d.VendorId == vendorId && d.ProductId == productId))
        {
            var here = $"{d.VidPid} at {d.BusId}";
            if (serial is not null && d.SerialNumber != serial)
                yield return (d.BusId, $"{here} has serial number {d.SerialNumber ?? "(none)"}, not {serial}: another device, not taken");
            else if (serial is null && !d.PortPath.Equals(home))
                yield return (d.BusId, $"{here} has no serial number to tell it from another {d.VidPid}: taken only at {home.BusId}, where it was");
        }
    }

    /// <summary>
    /// The exported device among <paramref name="devices"/>: the one at <paramref name="home"/> with the same VID:PID (and
    /// serial number, when it has one); else, for a device with a serial number, the same VID:PID and serial at any port
    /// (it moved). Null when it is not there: another device in its old port is never taken for it.
    /// </summary>
    internal static UsbDeviceInfo? FindAgain(IEnumerable<UsbDeviceInfo> devices, UsbPortPath home, ushort vendorId, ushort productId, string? serial)
    {
        bool IsIt(UsbDeviceInfo d) =>
            d.VendorId == vendorId && d.ProductId == productId && (serial is null || d.SerialNumber == serial);
        var list = devices as IReadOnlyCollection<UsbDeviceInfo> ?? [.. devices];
        return list.FirstOrDefault(d => d.PortPath.Equals(home) && IsIt(d)) ?? (serial is null ? null : list.FirstOrDefault(IsIt));
    }
}
