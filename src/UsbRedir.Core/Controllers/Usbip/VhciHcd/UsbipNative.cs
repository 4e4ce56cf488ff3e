using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// The few libc calls the stock vhci_hcd backend needs: socketpair(2) for the kernel's end of the link, and plain
/// open/write/close on sysfs attributes so the errno of the attach write (EBUSY, EINVAL, EACCES) reaches us intact.
/// </summary>
internal static partial class UsbipNative
{
    private const int AF_UNIX = 1;
    private const int SOCK_STREAM = 1;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int O_WRONLY = 1;
    private const int O_CLOEXEC = 0x80000;

    public const int EACCES = 13;
    public const int EPERM = 1;
    public const int EBUSY = 16;
    public const int ENOENT = 2;

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static unsafe partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    /// <summary>
    /// A connected AF_UNIX stream pair: ours as a .NET <see cref="Socket"/>, the other as a raw fd to hand to the kernel
    /// (vhci_hcd accepts any SOCK_STREAM socket; it takes its own reference, so the caller closes the fd afterwards).
    /// </summary>
    public static unsafe (Socket Ours, int KernelFd) CreateSocketPair()
    {
        var fds = stackalloc int[2];
        if (SocketPair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new UsbRedirException("UsbipSocketPairFailed", UsbRedirErrorCategory.ResourceUnavailable,
                $"socketpair(AF_UNIX, SOCK_STREAM) failed: {Describe(errno)}.",
                "The process may be out of file descriptors (ulimit -n); close some connections and retry.");
        }
        try
        {
            return (new Socket(new SafeSocketHandle(fds[0], ownsHandle: true)), fds[1]);
        }
        catch
        {
            Close(fds[0]);
            Close(fds[1]);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> to a sysfs attribute in one write(2); returns 0 or the errno.</summary>
    public static unsafe int WriteAttribute(string path, string text)
    {
        var fd = Open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return Marshal.GetLastPInvokeError();
        try
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            fixed (byte* p = bytes)
            {
                var n = Write(fd, p, (nuint)bytes.Length);
                if (n < 0) return Marshal.GetLastPInvokeError();
                return n == bytes.Length ? 0 : 5; // a short write to a sysfs attribute: report EIO
            }
        }
        finally
        {
            Close(fd);
        }
    }

    public static string Describe(int errno) => $"{Marshal.PtrToStringUTF8(StrError(errno))} (errno {errno})";
}
