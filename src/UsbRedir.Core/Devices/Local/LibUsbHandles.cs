using Microsoft.Win32.SafeHandles;
using UsbRedir.Controllers.VhciCtrl;

namespace UsbRedir.Devices.Local;

/// <summary>A libusb context (libusb_init); released with libusb_exit once its event thread has stopped.</summary>
internal sealed class LibUsbContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public LibUsbContextHandle() : base(ownsHandle: true)
    {
    }

    public static LibUsbContextHandle Create()
    {
        LibUsb.EnsureLoaded();
        var result = LibUsb.Init(out var context);
        if (result != LibUsb.Success)
            throw new UsbRedirException("LibUsbInitFailed", UsbRedirErrorCategory.ResourceUnavailable,
                $"libusb could not start: {LibUsb.Describe(result)}.",
                "Check that /dev/bus/usb exists (usbfs; inside a container, pass it through).");
        var handle = new LibUsbContextHandle();
        handle.SetHandle(context);
        return handle;
    }

    protected override bool ReleaseHandle()
    {
        LibUsb.Exit(handle);
        return true;
    }
}

/// <summary>
/// An open device (libusb_open, or libusb_wrap_sys_device over a usbfs node opened here), closed with libusb_close, then
/// the node's descriptor if it owns one. Its owner closes it only once no transfer is pending.
/// </summary>
internal sealed class LibUsbDeviceHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private FileDescriptor? _node;

    public LibUsbDeviceHandle() : base(ownsHandle: true)
    {
    }

    public static LibUsbDeviceHandle FromOpened(nint opened)
    {
        var handle = new LibUsbDeviceHandle();
        handle.SetHandle(opened);
        return handle;
    }

    /// <summary>A handle libusb_wrap_sys_device made from <paramref name="node"/>, which it now owns.</summary>
    public static LibUsbDeviceHandle FromWrapped(nint opened, FileDescriptor node)
    {
        var handle = FromOpened(opened);
        handle._node = node;
        return handle;
    }

    protected override bool ReleaseHandle()
    {
        LibUsb.Close(handle);
        _node?.Dispose(); // libusb does not close a descriptor it was given
        return true;
    }
}
