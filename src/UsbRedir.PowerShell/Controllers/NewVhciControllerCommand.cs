using System.Management.Automation;
using UsbRedir.Controllers;

namespace UsbRedir.PowerShell.Controllers;

/// <summary>
/// New-VhciController: a virtual USB host controller in the local Linux kernel, whose ports take devices
/// (Connect-UsbDevice -Controller, Start-UsbRedirServer -Controller) so the kernel uses them as if plugged in.
/// </summary>
[Cmdlet(VerbsCommon.New, "VhciController", SupportsShouldProcess = true)]
[OutputType(typeof(VhciController))]
public sealed class NewVhciControllerCommand : UsbRedirCmdlet
{
    /// <summary>Root-hub ports, 1 to 31 (the backend may allow fewer).</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, VirtualHostController.MaxPorts)]
    public int Ports { get; set; } = 4;

    /// <summary>Auto: the project's module (/dev/vhci-ctrl) when loaded, else the stock USB/IP vhci_hcd.</summary>
    [Parameter]
    public ControllerBackend Backend { get; set; } = ControllerBackend.Auto;

    protected override void Process()
    {
        if (!ShouldProcess($"virtual host controller with {Ports} ports ({Backend} backend)", "Create"))
            return;
        var controller = VirtualHostControllerFactory.Default.CreateAsync(Ports, Backend, CancellationToken).GetAwaiter().GetResult();
        WriteObject(VhciControllerSelection.Add(controller));
    }
}
