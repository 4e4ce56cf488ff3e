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
    public VhciControllerState State => Controller.Fault is not null ? VhciControllerState.Failed
        : Controller.Closed.IsCancellationRequested ? VhciControllerState.Removed : VhciControllerState.Running;

    /// <summary>Why the backend failed, or null.</summary>
    public string? Fault => Controller.Fault?.Message;

    /// <summary>Two views of the same listed controller are equal (each Get-VhciController makes new views).</summary>
    public override bool Equals(object? obj) => obj is VhciController other && other.Id == Id && other.Controller == Controller;

    public override int GetHashCode() => HashCode.Combine(Id, Controller);

    public override string ToString() => $"{Id}: {Name} ({Backend}, bus {BusNumber}, {PortCount} ports)";
}

/// <summary>Where a virtual host controller is in its life, as connections and servers report theirs: an enum.</summary>
public enum VhciControllerState
{
    /// <summary>In the kernel, ports usable.</summary>
    Running,

    /// <summary>Removed from the kernel (Remove-VhciController, or its server stopped).</summary>
    Removed,

    /// <summary>The backend failed (see <see cref="VhciController.Fault"/>); its devices are unplugged.</summary>
    Failed,
}
