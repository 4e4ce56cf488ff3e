namespace UsbRedir.Controllers;

/// <summary>Which Linux virtual host controller a <see cref="IVirtualHostController"/> drives.</summary>
public enum ControllerBackend
{
    /// <summary>
    /// <see cref="VhciCtrl"/> when <c>/dev/vhci-ctrl</c> exists (our module is loaded), else <see cref="Usbip"/>.
    /// Only a request: a created controller always reports the backend it really uses.
    /// </summary>
    Auto,

    /// <summary>The project's own kernel module, usbredir_vhci.ko, through <c>/dev/vhci-ctrl</c>.</summary>
    VhciCtrl,

    /// <summary>The stock USB/IP <c>vhci_hcd</c> module, attached port by port through sysfs.</summary>
    Usbip,
}
