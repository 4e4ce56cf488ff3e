using System.Management.Automation;

namespace UsbRedir.PowerShell.Controllers;

/// <summary>Get-VhciController: the virtual host controllers New-VhciController made in this process.</summary>
[Cmdlet(VerbsCommon.Get, "VhciController")]
[OutputType(typeof(VhciController))]
public sealed class GetVhciControllerCommand : UsbRedirCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VhciControllerIdCompleter))]
    public int[]? Id { get; set; }

    protected override void Process()
    {
        foreach (var controller in WriteMissing(VhciControllerSelection.Select(Id)))
            WriteObject(controller);
    }
}
