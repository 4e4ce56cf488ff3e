namespace UsbRedir.Controllers;

/// <summary>
/// Creates virtual host controllers: picks the backend (<see cref="ControllerBackend.Auto"/> = VhciCtrl when
/// <c>/dev/vhci-ctrl</c> exists, else Usbip), checks the port count and lets the backend do the rest.
/// </summary>
public sealed class VirtualHostControllerFactory
{
    private readonly Dictionary<ControllerBackend, IVirtualHostControllerBackend> _backends;
    private readonly Func<bool> _vhciCtrlPresent;

    /// <param name="backends">The backends this factory may use; at most one per kind.</param>
    /// <param name="vhciCtrlPresent">Whether our module is loaded (default: <see cref="VhciCtrlDevicePath"/> exists).</param>
    public VirtualHostControllerFactory(IEnumerable<IVirtualHostControllerBackend> backends, Func<bool>? vhciCtrlPresent = null)
    {
        ArgumentNullException.ThrowIfNull(backends);
        _backends = backends.ToDictionary(b => b.Kind);
        if (_backends.ContainsKey(ControllerBackend.Auto))
            throw new ArgumentException("Auto is a choice between backends, not a backend.", nameof(backends));
        _vhciCtrlPresent = vhciCtrlPresent ?? (() => File.Exists(VhciCtrlDevicePath));
    }

    /// <summary>The control node of the project's kernel module (usbredir_vhci.ko).</summary>
    public const string VhciCtrlDevicePath = "/dev/vhci-ctrl";

    /// <summary>Every backend this build of UsbRedir has.</summary>
    public static VirtualHostControllerFactory Default { get; } =
        new([new VhciCtrl.VhciCtrlBackend(), new Usbip.UsbipBackend()]);

    /// <summary>The backend a request for <paramref name="requested"/> would use now.</summary>
    public ControllerBackend Resolve(ControllerBackend requested) => requested switch
    {
        ControllerBackend.Auto => _vhciCtrlPresent() ? ControllerBackend.VhciCtrl : ControllerBackend.Usbip,
        _ when Enum.IsDefined(requested) => requested,
        _ => throw new ArgumentOutOfRangeException(nameof(requested), requested, null),
    };

    /// <summary>Creates a controller with <paramref name="ports"/> root-hub ports.</summary>
    /// <exception cref="UsbRedirException">
    /// PortCountInvalid, ControllerBackendUnavailable, VhciModuleMissing / UsbipModuleMissing, ControllerAccessDenied,
    /// VhciAbiMismatch, or another backend error.
    /// </exception>
    public Task<IVirtualHostController> CreateAsync(int ports, ControllerBackend backend = ControllerBackend.Auto,
        CancellationToken cancellationToken = default)
    {
        var kind = Resolve(backend);
        if (!_backends.TryGetValue(kind, out var chosen))
            throw ControllerErrors.BackendUnavailable(kind);
        if (ports < 1 || ports > chosen.MaxPorts)
            throw ControllerErrors.PortCountInvalid(ports, chosen.MaxPorts, kind);
        return chosen.CreateAsync(ports, cancellationToken);
    }
}
