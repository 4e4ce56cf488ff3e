using System.Runtime.InteropServices;
using UsbRedir.Controllers.VhciCtrl;

namespace UsbRedir.Devices.Local;

/// <summary>
/// Raises <see cref="DeviceChanged"/> when a USB device is plugged in or unplugged, from the kernel's uevents
/// (a NETLINK_KOBJECT_UEVENT socket; no root, no udev needed). The events come on the watcher's own background
/// thread, in the kernel's order; a handler that throws does not stop the watcher (its exception is kept in
/// <see cref="LastError"/>). Hubs and root hubs are reported like any device; interfaces are not.
/// </summary>
public sealed unsafe class UsbDeviceWatcher : IDisposable
{
    private const uint KernelEventsGroup = 1;
    private const int PollMilliseconds = 200; // how soon Dispose is noticed

    private readonly UsbDeviceEnumerator _enumerator;
    private readonly Dictionary<UsbPortPath, UsbDeviceInfo?> _known = [];
    private readonly object _gate = new();
    private FileDescriptor? _socket;
    private Thread? _thread;
    private volatile bool _stopping;

    public UsbDeviceWatcher(UsbDeviceEnumerator? enumerator = null)
    {
        _enumerator = enumerator ?? UsbDeviceEnumerator.FromEnvironment();
    }

    /// <summary>A device was plugged in (configured, interfaces present) or unplugged. Raised on the watcher's thread.</summary>
    public event EventHandler<UsbDeviceEvent>? DeviceChanged;

    /// <summary>The last exception a handler threw, or that ended the watcher's thread; null when none.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>True from <see cref="Start"/> until <see cref="Dispose"/> or a socket failure ends the thread.</summary>
    public bool IsRunning => _thread is { IsAlive: true };

    /// <summary>
    /// Opens the uevent socket, then reads the devices present now (they raise no event; an unplug of one carries its
    /// description), then starts the thread. Events that come between the two are not lost: the socket is open first.
    /// </summary>
    /// <exception cref="UsbRedirException">UsbWatchUnavailable when the kernel's uevent socket cannot be opened.</exception>
    /// <exception cref="InvalidOperationException">Already started, or disposed.</exception>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_thread is not null)
                throw new InvalidOperationException("The watcher is already running.");
            _socket = Open();
            foreach (var device in _enumerator.GetDevices())
                _known[device.PortPath] = device;
            _thread = new Thread(Run) { IsBackground = true, Name = "usbredir uevent watcher" };
            _thread.Start();
        }
    }

    private static FileDescriptor Open()
    {
        var socket = new FileDescriptor(LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, LibC.NETLINK_KOBJECT_UEVENT));
        try
        {
            if (socket.IsInvalid)
                throw Unavailable("socket", Marshal.GetLastPInvokeError());
            var size = 1 << 20; // a hub with many devices announces them in a burst
            LibC.SetSockOpt(socket, LibC.SOL_SOCKET, LibC.SO_RCVBUF, &size, sizeof(int)); // best effort
            var address = new LibC.SockAddrNetlink { Family = LibC.AF_NETLINK, Groups = KernelEventsGroup };
            if (LibC.Bind(socket, &address, (uint)sizeof(LibC.SockAddrNetlink)) != 0)
                throw Unavailable("bind", Marshal.GetLastPInvokeError());
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static UsbRedirException Unavailable(string call, int errno) =>
        new("UsbWatchUnavailable", UsbRedirErrorCategory.ResourceUnavailable,
            $"Cannot watch for USB devices being plugged in: the kernel's uevent socket (NETLINK_KOBJECT_UEVENT) did not open: {call}: {LibC.Describe(errno)}.",
            "Run on Linux, outside a sandbox that forbids netlink sockets (a container may need --net=host to see kernel uevents).");

    private void Run()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var poll = new LibC.PollFd { Fd = (int)_socket!.DangerousGetHandle(), Events = LibC.POLLIN };
            while (!_stopping)
            {
                poll.Revents = 0;
                var ready = LibC.Poll(&poll, 1, PollMilliseconds);
                if (ready < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR || ready == 0)
                    continue;
                if (ready < 0)
                    throw new IOException($"poll on the uevent socket: {LibC.Describe(Marshal.GetLastPInvokeError())}");
                nint n;
                fixed (byte* p = buffer)
                    n = LibC.Recv(_socket, p, (nuint)buffer.Length, 0);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    // ENOBUFS: the kernel dropped events (a burst); what is plugged in now is still right, so carry on.
                    if (errno is LibC.EINTR or LibC.EAGAIN or LibC.ENOBUFS)
                        continue;
                    throw new IOException($"recv on the uevent socket: {LibC.Describe(errno)}");
                }
                if (UsbDeviceEvent.TryParseUevent(buffer.AsSpan(0, (int)n), out var kind, out var path))
                    Deliver(kind, path);
            }
        }
        catch (Exception e)
        {
            LastError = e; // the thread ends; IsRunning turns false
        }
    }

    /// <summary>Raises the event for one plug or unplug (the watcher's thread; tests call it directly).</summary>
    internal void Deliver(UsbDeviceEventKind kind, UsbPortPath path)
    {
        UsbDeviceEvent e;
        if (kind == UsbDeviceEventKind.Added)
        {
            if (_known.ContainsKey(path))
                return; // a driver re-bound to a device already plugged in
            var device = _enumerator.GetDevice(path);
            _known[path] = device;
            e = new UsbDeviceEvent(kind, path, device);
        }
        else
        {
            _known.Remove(path, out var last);
            e = new UsbDeviceEvent(kind, path, last);
        }
        try
        {
            DeviceChanged?.Invoke(this, e);
        }
        catch (Exception error)
        {
            LastError = error;
        }
    }

    /// <summary>Stops the thread (within about <see cref="PollMilliseconds"/>) and closes the socket.</summary>
    public void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            if (_stopping)
                return;
            _stopping = true;
            thread = _thread;
        }
        if (thread is not null && thread != Thread.CurrentThread)
            thread.Join();
        _socket?.Dispose();
    }
}
