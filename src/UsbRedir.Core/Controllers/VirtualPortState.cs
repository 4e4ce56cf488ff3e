namespace UsbRedir.Controllers;

/// <summary>Where a root-hub port of a virtual controller is in its plug/unplug life cycle.</summary>
public enum VirtualPortState
{
    /// <summary>Nothing plugged in; <see cref="IVirtualHostController.PlugAsync"/> may use it.</summary>
    Free,

    /// <summary>A plug is under way: the backend is attaching the device.</summary>
    Attaching,

    /// <summary>A device is plugged in and its URBs are routed to it.</summary>
    Plugged,

    /// <summary>An unplug is under way: the backend is detaching the device.</summary>
    Detaching,
}
