using Microsoft.Win32.SafeHandles;

namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>An owned Linux file descriptor, closed exactly once; calls through it after disposal throw ObjectDisposedException.</summary>
internal sealed class FileDescriptor : SafeHandleMinusOneIsInvalid
{
    public FileDescriptor()
        : base(ownsHandle: true)
    {
    }

    public FileDescriptor(int fd)
        : base(ownsHandle: true) => SetHandle(fd);

    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
