using UsbRedir.Sessions;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// The <see cref="ControllerBackend.Usbip"/> backend: controllers on the stock vhci_hcd module, loaded with
/// 'modprobe vhci-hcd' when it is missing and <see cref="LoadModule"/> allows it (root only).
/// </summary>
public sealed class UsbipBackend : IVirtualHostControllerBackend
{
    public ControllerBackend Kind => ControllerBackend.Usbip;

    /// <summary>A controller's ports are slots mapped onto vhci_hcd's shared ports; 31 like any root hub (USB_MAXCHILDREN).</summary>
    public int MaxPorts => VirtualHostController.MaxPorts;

    /// <summary>Load vhci-hcd when it is not loaded. Default true.</summary>
    public bool LoadModule { get; init; } = true;

    /// <summary>The sysfs platform directory (tests point it at a fake tree).</summary>
    public string PlatformDirectory { get; init; } = VhciHcdSysfs.DefaultPlatformDirectory;

    /// <summary>Receives what the controllers and links report; optional.</summary>
    public SessionLog? Log { get; init; }

    /// <exception cref="UsbRedirException">
    /// UsbipModuleMissing (not loaded, may not load), VhciHcdModuleMissing (the kernel has none), VhciHcdLoadDenied, VhciHcdLoadFailed.
    /// </exception>
    public Task<IVirtualHostController> CreateAsync(int ports, CancellationToken cancellationToken)
    {
        var sysfs = new VhciHcdSysfs(PlatformDirectory);
        VhciHcdModule.EnsureLoaded(sysfs, LoadModule);
        return Task.FromResult<IVirtualHostController>(new UsbipController(sysfs, ports, Log));
    }
}
