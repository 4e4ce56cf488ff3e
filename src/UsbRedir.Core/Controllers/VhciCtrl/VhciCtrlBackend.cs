namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>Creates controllers of the project's kernel module (usbredir_vhci.ko) through /dev/vhci-ctrl.</summary>
public sealed class VhciCtrlBackend(string devicePath = VirtualHostControllerFactory.VhciCtrlDevicePath) : IVirtualHostControllerBackend
{
    public ControllerBackend Kind => ControllerBackend.VhciCtrl;

    public int MaxPorts => VhciCtrlAbi.MaxPorts;

    public string DevicePath { get; } = devicePath;

    public Task<IVirtualHostController> CreateAsync(int ports, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Opening and creating are quick, bounded kernel calls (the module probes the new bus synchronously).
        return Task.FromResult<IVirtualHostController>(VhciCtrlController.Open(DevicePath, ports));
    }
}
