namespace UsbRedir.Controllers;

/// <summary>
/// The virtual host controllers of one <see cref="UsbRedirContext"/>, each with an id from 1, so its front end finds them
/// by id (Get-/Remove-VhciController) and takes them out of the kernel when it ends. A server started with a controller
/// of its own lists that controller here while it runs (<see cref="Server.UsbRedirServer.StartWithOwnControllerAsync"/>).
/// </summary>
public sealed class ControllerRegistry
{
    private readonly List<ListedController> _controllers = [];
    private int _nextId;

    internal ControllerRegistry()
    {
    }

    /// <summary>Every listed controller, in the order they were added.</summary>
    public IReadOnlyList<ListedController> All { get { lock (_controllers) return _controllers.ToArray(); } }

    /// <summary>Lists <paramref name="controller"/> under the next id; a controller already listed keeps its entry.</summary>
    public ListedController Add(IVirtualHostController controller)
    {
        ArgumentNullException.ThrowIfNull(controller);
        lock (_controllers)
        {
            if (_controllers.FirstOrDefault(c => c.Controller == controller) is { } listed)
                return listed;
            var entry = new ListedController(++_nextId, controller);
            _controllers.Add(entry);
            return entry;
        }
    }

    /// <summary>Takes <paramref name="controller"/> off the list (it stays in the kernel: dispose it for that).</summary>
    public bool Remove(IVirtualHostController controller)
    {
        lock (_controllers)
            return _controllers.RemoveAll(c => c.Controller == controller) > 0;
    }

    /// <summary>Every listed controller, and forgets them all (the front end ends).</summary>
    public IReadOnlyList<ListedController> TakeAll()
    {
        lock (_controllers)
        {
            var all = _controllers.ToArray();
            _controllers.Clear();
            return all;
        }
    }
}

/// <summary>A controller as a <see cref="ControllerRegistry"/> lists it: its id there and the engine's controller.</summary>
public sealed record ListedController(int Id, IVirtualHostController Controller);
