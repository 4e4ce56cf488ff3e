using UsbRedir.Controllers;

namespace UsbRedir.PowerShell.Controllers;

/// <summary>
/// The controllers of this module load (<see cref="UsbRedirContext.Controllers"/> of <see cref="UsbRedirModuleLifetime.Context"/>)
/// as Get-/Remove-VhciController show them: New-VhciController's, and a server's own while it runs.
/// </summary>
internal static class VhciControllerSelection
{
    private static ContextList<IVirtualHostController> Registry => UsbRedirModuleLifetime.Context.Controllers;

    public static IReadOnlyList<VhciController> All => Registry.Numbered.Select(c => new VhciController(c.Id, c.Item)).ToArray();

    /// <summary>Lists <paramref name="controller"/> under the next id.</summary>
    public static VhciController Add(IVirtualHostController controller) => new(Registry.Add(controller), controller);

    public static void Remove(VhciController controller) => Registry.Remove(controller.Controller);

    /// <summary>-Id of Get-/Remove-VhciController; one VhciControllerNotFound error per id that names no controller.</summary>
    public static (IReadOnlyList<VhciController> Found, IReadOnlyList<UsbRedirException> Missing) Select(IReadOnlyCollection<int>? ids) =>
        IdSelection.Select(All, c => c.Id, ids, _ => true, id =>
            new UsbRedirException("VhciControllerNotFound", UsbRedirErrorCategory.ObjectNotFound, $"There is no virtual host controller with id {id}.",
                "Get-VhciController lists the controllers of this session; New-VhciController creates one.", id));
}
