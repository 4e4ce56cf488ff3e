using System.Management.Automation;

namespace UsbRedir.PowerShell.Controllers;

/// <summary>
/// Remove-VhciController: unplugs every device of the controller (the kernel sees them go away) and removes the
/// controller from the kernel. The devices themselves stay usable.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VhciController", SupportsShouldProcess = true, DefaultParameterSetName = ControllerSet)]
[OutputType(typeof(VhciController))]
public sealed class RemoveVhciControllerCommand : UsbRedirCmdlet
{
    private const string ControllerSet = "Controller";
    private const string IdSet = "Id";

    [Parameter(ParameterSetName = ControllerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public VhciController[] Controller { get; set; } = [];

    [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VhciControllerIdCompleter))]
    public int[] Id { get; set; } = [];

    /// <summary>Write each controller after removing it (its State is then Removed).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var targets = ParameterSetName == IdSet ? WriteMissing(VhciControllerSelection.Select(Id)) : Controller;
        foreach (var controller in targets)
        {
            var plugged = controller.PortCount - controller.FreePorts;
            if (!ShouldProcess(controller.ToString(), plugged == 0 ? "Remove" : $"Unplug {plugged} device(s) and remove"))
                continue;
            controller.Controller.DisposeAsync().AsTask().WaitAsync(CancellationToken).GetAwaiter().GetResult();
            VhciControllerSelection.Remove(controller);
            if (PassThru)
                WriteObject(controller);
        }
    }
}
