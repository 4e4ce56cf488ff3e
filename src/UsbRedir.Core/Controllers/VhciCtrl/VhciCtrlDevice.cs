using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using static UsbRedir.Controllers.VhciCtrl.VhciCtrlAbi;

namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>
/// One open /dev/vhci-ctrl with its controller created: the thin I/O layer under <see cref="VhciCtrlController"/>.
/// Open-time failures become the <see cref="ControllerErrors"/> that name cause and fix.
/// </summary>
internal sealed unsafe class VhciCtrlDevice : IDisposable
{
    private readonly FileDescriptor _fd;

    private VhciCtrlDevice(FileDescriptor fd, string path, int busNumber, string busId, int maxTransfer, int maxIsoPackets, int maxInflight)
    {
        _fd = fd;
        Path = path;
        BusNumber = busNumber;
        BusId = busId;
        MaxTransfer = maxTransfer;
        MaxIsoPackets = maxIsoPackets;
        MaxInflight = maxInflight;
    }

    public string Path { get; }

    public int BusNumber { get; }

    /// <summary>The controller's platform device name, e.g. "usbredir_vhci.0".</summary>
    public string BusId { get; }

    public int MaxTransfer { get; }

    public int MaxIsoPackets { get; }

    /// <summary>The most URBs the kernel holds for this controller at once (beyond it usb_submit_urb fails -ENOSPC).</summary>
    public int MaxInflight { get; }

    /// <summary>The descriptor poll() waits on.</summary>
    public SafeHandle Handle => _fd;

    /// <summary>Opens <paramref name="path"/> and creates a controller with <paramref name="ports"/> ports on it.</summary>
    public static VhciCtrlDevice Create(string path, int ports)
    {
        if (!OperatingSystem.IsLinux())
            throw new UsbRedirException("VhciCtrlNotSupported", UsbRedirErrorCategory.NotInstalled,
                "Virtual USB host controllers are a Linux kernel feature; this system is not Linux.",
                "Run UsbRedir's controller commands on Linux.");
        // Non-blocking: the reader tries read() first and polls only when the queue is empty (one syscall per batch when busy).
        var raw = LibC.Open(path, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (raw < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                LibC.ENOENT or LibC.ENODEV or LibC.ENXIO => ControllerErrors.VhciModuleMissing(path),
                LibC.EACCES or LibC.EPERM => ControllerErrors.AccessDenied(path),
                _ => Failed("VhciOpenFailed", $"Opening {path} failed", errno),
            };
        }
        var fd = new FileDescriptor(raw);
        try
        {
            var version = LibC.Ioctl(fd, IocAbiVersion, null);
            if (version < 0)
                throw Failed("VhciAbiQueryFailed", $"Asking {path} for its ABI version failed (is it usbredir_vhci's node?)", Marshal.GetLastPInvokeError());
            if (version != VhciCtrlAbi.Version)
                throw ControllerErrors.AbiMismatch(path, version, VhciCtrlAbi.Version);

            var request = new byte[CreateSize];
            BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(CreateFields.AbiVersion), VhciCtrlAbi.Version);
            BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(CreateFields.Ports), (uint)ports);
            fixed (byte* p = request)
            {
                if (LibC.Ioctl(fd, IocCreate, p) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw errno switch
                    {
                        LibC.EINVAL => ControllerErrors.PortCountInvalid(ports, MaxPorts, ControllerBackend.VhciCtrl),
                        LibC.EPROTONOSUPPORT => ControllerErrors.AbiMismatch(path, version, VhciCtrlAbi.Version),
                        _ => Failed("VhciCreateFailed", $"Creating a {ports}-port controller on {path} failed", errno),
                    };
                }
            }
            var busIdBytes = request.AsSpan(CreateFields.BusId, CreateFields.BusIdLength);
            var nul = busIdBytes.IndexOf((byte)0);
            return new VhciCtrlDevice(fd, path,
                busNumber: (int)BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(CreateFields.BusNumber)),
                busId: Encoding.ASCII.GetString(nul < 0 ? busIdBytes : busIdBytes[..nul]),
                maxTransfer: (int)BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(CreateFields.MaxTransfer)),
                maxIsoPackets: (int)BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(CreateFields.MaxIsoPackets)),
                maxInflight: (int)BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(CreateFields.MaxInflight)));
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Blocks until an event can be read (true) or <paramref name="wake"/> becomes readable (false).
    /// </summary>
    public bool WaitReadable(FileDescriptor wake)
    {
        bool addedFd = false, addedWake = false;
        try
        {
            _fd.DangerousAddRef(ref addedFd);
            wake.DangerousAddRef(ref addedWake);
            var fds = stackalloc LibC.PollFd[2];
            fds[0] = new LibC.PollFd { Fd = (int)_fd.DangerousGetHandle(), Events = LibC.POLLIN };
            fds[1] = new LibC.PollFd { Fd = (int)wake.DangerousGetHandle(), Events = LibC.POLLIN };
            while (true)
            {
                if (LibC.Poll(fds, 2, -1) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.EINTR)
                        continue;
                    throw Failed("VhciPollFailed", $"poll on {Path} failed", errno);
                }
                if (fds[1].Revents != 0)
                    return false;
                if ((fds[0].Revents & (LibC.POLLERR | LibC.POLLNVAL)) != 0)
                    throw new UsbRedirException("VhciPollFailed", UsbRedirErrorCategory.DeviceError,
                        $"poll on {Path} reported an error (revents 0x{fds[0].Revents:x}).", "Recreate the controller.");
                if (fds[0].Revents != 0)
                    return true;
            }
        }
        finally
        {
            if (addedWake) wake.DangerousRelease();
            if (addedFd) _fd.DangerousRelease();
        }
    }

    /// <summary>Reads whole events into <paramref name="buffer"/>; 0 when none were ready (EAGAIN/EINTR).</summary>
    public int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = LibC.Read(_fd, p, (nuint)buffer.Length);
            if (n >= 0)
                return (int)n;
            var errno = Marshal.GetLastPInvokeError();
            if (errno is LibC.EINTR or LibC.EAGAIN)
                return 0;
            throw Failed("VhciReadFailed", $"Reading events from {Path} failed", errno);
        }
    }

    /// <summary>Writes one command; returns 0 or the errno the kernel refused it with.</summary>
    public int Write(ReadOnlySpan<byte> command)
    {
        fixed (byte* p = command)
        {
            var n = LibC.Write(_fd, p, (nuint)command.Length);
            return n == command.Length ? 0 : n < 0 ? Marshal.GetLastPInvokeError() : LibC.EINVAL;
        }
    }

    /// <summary>Closes the file: the kernel gives back every URB, unplugs every port and removes the controller.</summary>
    public void Dispose() => _fd.Dispose();

    internal static UsbRedirException Failed(string errorId, string what, int errno) => new(
        errorId, UsbRedirErrorCategory.DeviceError,
        $"{what}: {LibC.Describe(errno)} (errno {errno}).",
        "Check the kernel log (dmesg) for usbredir_vhci messages; reloading the module may help.");
}
