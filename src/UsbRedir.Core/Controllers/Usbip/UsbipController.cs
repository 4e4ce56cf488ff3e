using System.Globalization;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Sessions;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// A controller on Linux's stock USB/IP host controller, so stock kernels need no module build. vhci_hcd's ports are
/// shared by the whole system, so this controller's ports are slots: plugging one takes a free vhci_hcd port of the
/// right hub (SuperSpeed devices the USB 3 hub, all others the USB 2.0 hub), attaches it with one end of an AF_UNIX
/// socketpair and serves the device's URBs on the other end (<see cref="UsbipDeviceLink"/>).
/// </summary>
/// <remarks>
/// vhci_hcd handles SET_ADDRESS and port resets itself and never forwards them. When a link ends on its own (the
/// kernel dropped the connection after a bad PDU, or tore the port down), the slot is unplugged too.
/// </remarks>
public sealed class UsbipController : VirtualHostController
{
    private static readonly TimeSpan DetachGrace = TimeSpan.FromSeconds(2);

    private readonly VhciHcdSysfs _sysfs;
    private readonly SessionLog? _log;
    private readonly Dictionary<int, Attachment> _attachments = [];
    private int _nextDeviceId;

    internal UsbipController(VhciHcdSysfs sysfs, int ports, SessionLog? log)
        : base(ControllerBackend.Usbip, Path.GetFileName(sysfs.ControllerDirectory), FindBusNumber(sysfs), ports)
    {
        _sysfs = sysfs;
        _log = log;
    }

    /// <summary>The vhci_hcd port (global number, as 'usbip port' and the status files show it) behind a slot, or null.</summary>
    public int? KernelPortOf(int port)
    {
        lock (_attachments)
            return _attachments.TryGetValue(port, out var a) ? a.KernelPort : null;
    }

    /// <summary>The USB/IP link serving a slot, or null.</summary>
    public UsbipDeviceLink? LinkOf(int port)
    {
        lock (_attachments)
            return _attachments.TryGetValue(port, out var a) ? a.Link : null;
    }

    protected override Task AttachAsync(int port, UrbRouter router, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var device = router.Device;
        var speed = VhciHcdSysfs.WireSpeed(device.Speed); // refuses an unknown speed before a port is touched
        var hub = VhciHcdSysfs.HubFor(device.Speed);
        var ports = _sysfs.ReadPorts();
        // devid only comes back to us in CMD_SUBMIT and shows in the status file; unique per plug for readability.
        var deviceId = (uint)Interlocked.Increment(ref _nextDeviceId);
        foreach (var candidate in ports.Where(p => p.Hub == hub && p.IsFree))
        {
            var (ours, kernelFd) = UsbipNative.CreateSocketPair();
            bool attached;
            try
            {
                attached = _sysfs.TryAttach(candidate.Port, kernelFd, deviceId, device.Speed);
            }
            catch
            {
                ours.Dispose();
                throw;
            }
            finally
            {
                // vhci_hcd took its own reference to the socket during attach; this fd is no longer needed.
                UsbipNative.Close(kernelFd);
            }
            if (!attached)
            {
                ours.Dispose();
                continue; // taken meanwhile (EBUSY): try the next free port, as the usbip tool does
            }
            var link = new UsbipDeviceLink(router, ours, _log);
            lock (_attachments)
                _attachments[port] = new Attachment(candidate.Port, link);
            link.Start();
            _ = link.Completion.ContinueWith(t => OnLinkEnded(port, link, t.Result), TaskScheduler.Default);
            _log?.Write(SessionLogLevel.Info,
                $"usbip: {device.Description} plugged into vhci_hcd port {candidate.Port} ({hub}, speed {speed}) as slot {port}");
            return Task.CompletedTask;
        }
        throw VhciHcdErrors.NoFreePort(hub, ports.Count(p => p.Hub == hub));
    }

    protected override async Task DetachAsync(int port)
    {
        Attachment? attachment;
        lock (_attachments)
            _attachments.Remove(port, out attachment);
        if (attachment is null) return;
        // Detach while the link is up: the kernel disconnects the port and gives every URB back. Once the link has
        // ended the kernel freed the port by itself, and it may belong to another device already: leave it alone.
        if (!attachment.Link.Completion.IsCompleted && _sysfs.TryDetach(attachment.KernelPort))
        {
            // vhci_hcd tears the port down from its event thread (shut the socket, stop its threads, give URBs back,
            // disconnect). Wait until our end sees that, so the port is really free when the unplug returns.
            try
            {
                await attachment.Link.Completion.WaitAsync(DetachGrace).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        await attachment.Link.DisposeAsync().ConfigureAwait(false);
    }

    protected override ValueTask CloseBackendAsync() => ValueTask.CompletedTask; // vhci_hcd stays loaded for others

    private void OnLinkEnded(int port, UsbipDeviceLink link, string reason)
    {
        if (!ReferenceEquals(LinkOf(port), link)) return; // ended by our own detach
        _log?.Write(SessionLogLevel.Warning, $"usbip: slot {port} lost its vhci_hcd port: {reason}");
        _ = UnplugQuietlyAsync(port, link);
    }

    private async Task UnplugQuietlyAsync(int port, UsbipDeviceLink link)
    {
        // The link can end before the plug that started it has finished (the slot still Attaching): wait for that.
        for (var i = 0; i < 250 && GetPort(port).State == VirtualPortState.Attaching; i++)
            await Task.Delay(20).ConfigureAwait(false);
        if (!ReferenceEquals(LinkOf(port), link)) return;
        try
        {
            await UnplugAsync(port).ConfigureAwait(false);
        }
        catch (UsbRedirException)
        {
            // Unplugged meanwhile, or the controller closed: the slot is free either way.
        }
    }

    // The USB 2.0 root hub of vhci_hcd.0 (its usbN child with speed 480), or 0 when sysfs does not show one.
    private static int FindBusNumber(VhciHcdSysfs sysfs)
    {
        try
        {
            foreach (var hub in Directory.GetDirectories(sysfs.ControllerDirectory, "usb*"))
            {
                var speed = Path.Combine(hub, "speed");
                var busnum = Path.Combine(hub, "busnum");
                if (File.Exists(speed) && File.ReadAllText(speed).Trim() == "480" && File.Exists(busnum)
                    && int.TryParse(File.ReadAllText(busnum).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    return n;
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    private sealed record Attachment(int KernelPort, UsbipDeviceLink Link);
}
