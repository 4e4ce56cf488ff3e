using UsbRedir.Controllers;

namespace UsbRedir.PowerShell.Controllers;

/// <summary>
/// A virtual host controller made by New-VhciController, as this session sees it: an id for Get-/Remove-VhciController
/// and the engine's controller, whose properties are read live.
/// </summary>
public sealed class VhciController
{
    internal VhciController(int id, IVirtualHostController controller)
    {
        Id = id;
        Controller = controller;
    }

    public int Id { get; }

    /// <summary>The engine object: PlugAsync, UnplugAsync, GetPorts and the PortChanged event.</summary>
    public IVirtualHostController Controller { get; }

    /// <summary>The kernel's name, e.g. usbredir_vhci.0 or vhci_hcd.0.</summary>
    public string Name => Controller.Name;

    /// <summary>The backend in use (VhciCtrl or Usbip, never Auto).</summary>
    public ControllerBackend Backend => Controller.Backend;

    /// <summary>The USB bus its devices appear on (lsusb -s BUS:).</summary>
    public int BusNumber => Controller.BusNumber;

    public int PortCount => Controller.PortCount;

    /// <summary>Every root-hub port with its state and device, as of now.</summary>
    public IReadOnlyList<VirtualPortInfo> Ports => Controller.GetPorts();

    public int FreePorts => Ports.Count(p => p.State == VirtualPortState.Free);

    /// <summary>Running, Removed (after Remove-VhciController) or Failed (the backend failed; see Fault).</summary>
    public string State => Controller.Fault is not null ? "Failed" : Controller.Closed.IsCancellationRequested ? "Removed" : "Running";

    /// <summary>Why the backend failed, or null.</summary>
    public string? Fault => Controller.Fault?.Message;

    public override string ToString() => $"{Id}: {Name} ({Backend}, bus {BusNumber}, {PortCount} ports)";
}
