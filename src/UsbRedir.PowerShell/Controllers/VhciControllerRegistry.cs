using UsbRedir.Controllers;

namespace UsbRedir.PowerShell.Controllers;

/// <summary>
/// The controllers New-VhciController made in this process, so Get-/Remove-VhciController find them by id and removing
/// the module takes them out of the kernel. The engine has no list of its own: the CLI owns its one controller.
/// </summary>
internal static class VhciControllerRegistry
{
    private static readonly List<VhciController> Controllers = [];
    private static int _nextId;

    public static IReadOnlyList<VhciController> All { get { lock (Controllers) return Controllers.ToArray(); } }

    public static VhciController Add(IVirtualHostController controller)
    {
        lock (Controllers)
        {
            var entry = new VhciController(++_nextId, controller);
            Controllers.Add(entry);
            return entry;
        }
    }

    public static void Remove(VhciController controller)
    {
        lock (Controllers)
            Controllers.Remove(controller);
    }

    /// <summary>Every listed controller, and forgets them all (module removal).</summary>
    public static IReadOnlyList<VhciController> TakeAll()
    {
        lock (Controllers)
        {
            var all = Controllers.ToArray();
            Controllers.Clear();
            return all;
        }
    }

    /// <summary>-Id of Get-/Remove-VhciController; one VhciControllerNotFound error per id that names no controller.</summary>
    public static (IReadOnlyList<VhciController> Found, IReadOnlyList<UsbRedirException> Missing) Select(IReadOnlyCollection<int>? ids) =>
        IdSelection.Select(All, c => c.Id, ids, _ => true, id =>
            new UsbRedirException("VhciControllerNotFound", UsbRedirErrorCategory.ObjectNotFound, $"There is no virtual host controller with id {id}.",
                "Get-VhciController lists the controllers of this session; New-VhciController creates one.", id));
}
