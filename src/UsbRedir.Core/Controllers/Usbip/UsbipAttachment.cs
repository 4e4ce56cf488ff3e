using UsbRedir.Devices;

namespace UsbRedir.Controllers.Usbip;

/// <summary>A device plugged into a vhci_hcd port: the port, the link serving it, and how to unplug it.</summary>
public sealed class UsbipAttachment : IAsyncDisposable
{
    private readonly VhciHcdSysfs _sysfs;
    private int _unplugged;

    internal UsbipAttachment(VhciHcdSysfs sysfs, int port, VhciHcdHub hub, IUsbDevice device, UsbipDeviceLink link)
    {
        _sysfs = sysfs;
        Port = port;
        Hub = hub;
        Device = device;
        Link = link;
    }

    /// <summary>The global vhci_hcd port number (what 'usbip port' shows and detach takes).</summary>
    public int Port { get; }

    public VhciHcdHub Hub { get; }

    public IUsbDevice Device { get; }

    public UsbipDeviceLink Link { get; }

    /// <summary>Completes with the reason the device left the port.</summary>
    public Task<string> Completion => Link.Completion;

    /// <summary>Unplugs the device: detach tears the port down in the kernel (URBs are given back), then the link closes.</summary>
    /// <remarks>
    /// When the link has already ended (vhci_hcd dropped it, or the device went away and the link closed its socket)
    /// the kernel has freed the port by itself and it may already belong to another device, so it is not touched.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _unplugged, 1) == 0 && !Link.Completion.IsCompleted)
            Detach();
        await Link.DisposeAsync().ConfigureAwait(false);
    }

    private void Detach()
    {
        try
        {
            // False when vhci_hcd already tore the port down itself (the socket closed first): nothing left to do.
            _sysfs.TryDetach(Port);
        }
        catch (UsbRedirException)
        {
            // Detach is refused only without privileges, which attach needed too; closing the socket still unplugs.
        }
    }
}
