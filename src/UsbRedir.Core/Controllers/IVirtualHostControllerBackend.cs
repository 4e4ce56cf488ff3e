namespace UsbRedir.Controllers;

/// <summary>One way of creating controllers (one per <see cref="ControllerBackend"/> value but Auto), for <see cref="VirtualHostControllerFactory"/>.</summary>
public interface IVirtualHostControllerBackend
{
    /// <summary>The backend this creates (never Auto).</summary>
    ControllerBackend Kind { get; }

    /// <summary>The most ports one controller of this backend can have.</summary>
    int MaxPorts { get; }

    /// <summary>
    /// Creates a controller with <paramref name="ports"/> ports (already checked to be 1..<see cref="MaxPorts"/>).
    /// Missing module, missing privileges and the like are <see cref="UsbRedirException"/>s from <see cref="ControllerErrors"/>.
    /// </summary>
    Task<IVirtualHostController> CreateAsync(int ports, CancellationToken cancellationToken);
}
