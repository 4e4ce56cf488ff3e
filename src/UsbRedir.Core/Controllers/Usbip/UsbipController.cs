using UsbRedir.Devices;
using UsbRedir.Sessions;

namespace UsbRedir.Controllers.Usbip;

/// <summary>Options of the stock vhci_hcd backend.</summary>
public sealed class UsbipControllerOptions
{
    /// <summary>Run 'modprobe vhci-hcd' when the module is not loaded (needs root). Default true.</summary>
    public bool LoadModule { get; init; } = true;

    /// <summary>The sysfs platform directory (tests use a fake tree).</summary>
    public string PlatformDirectory { get; init; } = VhciHcdSysfs.DefaultPlatformDirectory;

    /// <summary>Receives what the links report; optional.</summary>
    public SessionLog? Log { get; init; }
}

/// <summary>
/// The controller backend for Linux's stock USB/IP host controller, so stock kernels need no module build: each
/// device gets a free vhci_hcd port of the right hub (SuperSpeed devices the USB 3 hub, others the USB 2.0 hub), attached
/// with one end of an AF_UNIX socketpair; this process speaks the USB/IP URB phase on the other end.
/// </summary>
public sealed class UsbipController
{
    private readonly UsbipControllerOptions _options;
    private int _nextDeviceId;

    private UsbipController(UsbipControllerOptions options, VhciHcdSysfs sysfs)
    {
        _options = options;
        Sysfs = sysfs;
    }

    public VhciHcdSysfs Sysfs { get; }

    /// <summary>Finds vhci_hcd, loading the module when allowed.</summary>
    /// <exception cref="UsbRedirException">The module is missing from the kernel, not loaded and may not be loaded, or failed to load.</exception>
    public static UsbipController Open(UsbipControllerOptions? options = null)
    {
        options ??= new UsbipControllerOptions();
        var sysfs = new VhciHcdSysfs(options.PlatformDirectory);
        VhciHcdModule.EnsureLoaded(sysfs, options.LoadModule);
        return new UsbipController(options, sysfs);
    }

    /// <summary>All vhci_hcd ports and their state.</summary>
    public List<VhciHcdPort> ReadPorts() => Sysfs.ReadPorts();

    /// <summary>Plugs <paramref name="device"/> into a free port and starts serving it.</summary>
    /// <exception cref="UsbRedirException">No free port on the right hub, attach not permitted, or refused by the kernel.</exception>
    public UsbipAttachment Plug(IUsbDevice device)
    {
        var hub = VhciHcdSysfs.HubFor(device.Speed);
        VhciHcdSysfs.WireSpeed(device.Speed); // refuse an unknown speed before touching a port
        var ports = Sysfs.ReadPorts();
        // devid only travels back to us in CMD_SUBMIT and shows in the status file; make it unique per plug.
        var deviceId = (uint)Interlocked.Increment(ref _nextDeviceId);
        foreach (var candidate in ports.Where(p => p.Hub == hub && p.IsFree))
        {
            var (ours, kernelFd) = UsbipNative.CreateSocketPair();
            bool attached;
            try
            {
                attached = Sysfs.TryAttach(candidate.Port, kernelFd, deviceId, device.Speed);
            }
            catch
            {
                ours.Dispose();
                throw;
            }
            finally
            {
                // vhci_hcd took its own reference to the socket in attach; ours to that end is no longer needed.
                UsbipNative.Close(kernelFd);
            }
            if (!attached)
            {
                ours.Dispose();
                continue; // taken meanwhile (EBUSY), as the usbip tool does: try the next free port
            }
            var link = new UsbipDeviceLink(device, ours, _options.Log);
            var attachment = new UsbipAttachment(Sysfs, candidate.Port, hub, device, link);
            link.Start();
            _options.Log?.Write(SessionLogLevel.Info, $"usbip: {device.Description} attached to vhci_hcd port {candidate.Port} ({hub})");
            return attachment;
        }
        throw VhciHcdErrors.NoFreePort(hub, ports.Count(p => p.Hub == hub));
    }
}
