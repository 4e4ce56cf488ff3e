using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using UsbRedir.Controllers.VhciCtrl;
using UsbRedir.Sessions;

namespace UsbRedir.Devices.Local;

/// <summary>Choices when opening a local device.</summary>
public sealed record LocalUsbDeviceOptions
{
    /// <summary>Export hubs too (refused by default: every device behind a hub would leave this machine with it).</summary>
    public bool AllowHub { get; init; }
}

/// <summary>
/// A USB device plugged into this machine, opened through libusb (<see cref="LibUsb"/>) and offered as an
/// <see cref="IUsbDevice"/>, so the usbredir host role can export it and a virtual host controller can plug it in.
/// </summary>
/// <remarks>
/// Opening claims every interface of the active configuration, detaching the kernel drivers bound to them; disposing
/// releases them and re-attaches those drivers (so usb-storage or usbhid bind again locally). Every transfer is a libusb
/// asynchronous transfer completed on the context's event thread; the synchronous libusb calls run on its worker thread.
/// The device is <see cref="Gone"/> once libusb reports it missing or its node under /dev/bus/usb disappears.
/// </remarks>
public sealed partial class LocalUsbDevice : IUsbDevice, IInlineCompletingDevice, ILibUsbTransferOwner
{
    private const uint DescriptorTimeoutMs = 5000;
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReenumerationTimeout = TimeSpan.FromSeconds(10);

    private static readonly object RegistryGate = new();
    private static readonly HashSet<UsbPortPath> Exported = [];

    private readonly object _gate = new();
    private readonly LibUsbContext _context;
    private readonly LocalUsbDeviceOptions _options;
    private readonly CancellationTokenSource _gone = new();
    private readonly HashSet<LibUsbTransfer> _pending = [];
    private readonly HashSet<int> _claimed = [];
    private readonly HashSet<int> _detached = [];
    private TaskCompletionSource? _drained;
    private LibUsbDeviceHandle _handle = null!;
    private byte[] _deviceDescriptor = [];
    private IReadOnlyList<ReadOnlyMemory<byte>> _configurations = [];
    private byte _configuration;
    // Alternate settings and the active configuration's layout; under _gate.
    private readonly ActiveSettings _active = new(new DeviceLayout());
    private bool _closing;
    private bool _resetSinceLastTransfer;
    private bool _resetting; // a port reset is under way (ResetOnWorker)
    private bool _reopening; // ... and it re-enumerated the device: the handle is dead until the device is open again
    private int _disposed;
    private string? _goneReason;

    private LocalUsbDevice(UsbPortPath path, LocalUsbDeviceOptions options)
    {
        PortPath = path;
        _options = options;
        _context = new LibUsbContext(path.BusId);
        _context.Idle = CheckPresent;
    }

    /// <summary>Where the device is plugged in (its id and busid).</summary>
    public UsbPortPath PortPath { get; }

    /// <summary>The usbfs node libusb opened, e.g. /dev/bus/usb/002/003 (changes when a reset re-enumerates the device).</summary>
    public string DeviceNode { get; private set; } = "";

    public ushort VendorId => BinaryPrimitives.ReadUInt16LittleEndian(DeviceDescriptor.Span[8..]);

    public ushort ProductId => BinaryPrimitives.ReadUInt16LittleEndian(DeviceDescriptor.Span[10..]);

    public string? Manufacturer { get; private set; }

    public string? Product { get; private set; }

    public string? SerialNumber { get; private set; }

    public string Description => $"{Product ?? "USB device"} ({VendorId:x4}:{ProductId:x4}) at {PortPath.Id} ({PortPath.BusId})";

    public UsbSpeed Speed { get; private set; }

    public ReadOnlyMemory<byte> DeviceDescriptor { get { lock (_gate) return _deviceDescriptor; } }

    public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors { get { lock (_gate) return _configurations; } }

    public byte ActiveConfiguration { get { lock (_gate) return _configuration; } }

    public CancellationToken Gone => _gone.Token;

    /// <summary>Why the device went away, once it has.</summary>
    public string? GoneReason { get { lock (_gate) return _goneReason; } }

    /// <summary>Something the device wants its user to know (an unplug, a failed driver re-attach); the connection logs it.</summary>
    public event Action<string>? Notice;

    /// <summary>True while a <see cref="LocalUsbDevice"/> of this process holds the device at <paramref name="path"/>.</summary>
    public static bool IsExported(UsbPortPath path)
    {
        lock (RegistryGate)
            return Exported.Contains(path);
    }

    /// <summary>
    /// Opens the device <paramref name="selector"/> names: an id (2.0.2), a busid (2-1.3), VID:PID (0781:5567; an error
    /// when several match) or a serial number, found by <see cref="UsbDeviceEnumerator"/>; then as <see cref="OpenAsync(UsbPortPath, LocalUsbDeviceOptions?, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="UsbRedirException">The finder's UsbDeviceNotFound, UsbDeviceAmbiguous, UsbDeviceSelectorEmpty; then as OpenAsync.</exception>
    public static Task<LocalUsbDevice> OpenAsync(string selector, LocalUsbDeviceOptions? options = null, CancellationToken cancellationToken = default)
    {
        // An id or busid needs no listing (and names a port even while its device is being re-plugged).
        var path = UsbPortPath.TryParse(selector, out var parsed) ? parsed : UsbDeviceEnumerator.FromEnvironment().Find(selector).PortPath;
        return OpenAsync(path, options, cancellationToken);
    }

    /// <summary>
    /// As <see cref="OpenAsync(string, LocalUsbDeviceOptions?, CancellationToken)"/>, but null while no such device is
    /// plugged in (for re-opening a device that was unplugged and comes back); other errors still throw.
    /// </summary>
    public static async Task<LocalUsbDevice?> TryOpenAsync(string selector, LocalUsbDeviceOptions? options = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await OpenAsync(selector, options, cancellationToken);
        }
        catch (UsbRedirException e) when (e.ErrorId == "UsbDeviceNotFound")
        {
            return null;
        }
    }

    /// <summary>
    /// Opens the device at <paramref name="path"/>, reads its descriptors and claims the interfaces of its active
    /// configuration (detaching their kernel drivers, re-attached on dispose).
    /// </summary>
    /// <exception cref="UsbRedirException">
    /// LibUsbNotInstalled, UsbDeviceIsRootHub, UsbDeviceIsHub, UsbDeviceInUse (here or in another program),
    /// UsbDeviceNotFound, UsbDeviceAccessDenied (naming the node and the udev rule), UsbDeviceOpenFailed.
    /// </exception>
    public static async Task<LocalUsbDevice> OpenAsync(UsbPortPath path, LocalUsbDeviceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.IsRootHub)
            throw LocalDeviceErrors.RootHub(path);
        LibUsb.EnsureLoaded();
        lock (RegistryGate)
            if (!Exported.Add(path))
                throw LocalDeviceErrors.InUseHere(path);
        LocalUsbDevice? device = null;
        try
        {
            device = new LocalUsbDevice(path, options ?? new LocalUsbDeviceOptions());
            await device._context.RunAsync(() =>
            {
                device.OpenOnWorker();
                device.InitialResetOnWorker();
                return true;
            }).WaitAsync(cancellationToken);
            return device;
        }
        catch
        {
            if (device is not null)
                await device.CloseAsync(reattach: true);
            else
                lock (RegistryGate)
                    Exported.Remove(path);
            throw;
        }
    }

    public byte GetAlternateSetting(byte interfaceNumber)
    {
        lock (_gate)
            return _active.AlternateOf(interfaceNumber);
    }

    /// <summary>The endpoint's type in the active configuration and alternate settings (Invalid when it has none).</summary>
    public UsbEndpointType GetEndpointType(byte endpoint)
    {
        lock (_gate)
            return _active.EndpointTypeOf(endpoint);
    }

    public Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken)
    {
        // A standard read (GET_DESCRIPTOR, GET_STATUS, ...) leaves the device as a reset left it; anything else may not.
        if ((setup.RequestType & 0xE0) != 0x80)
            Touched();
        return LibUsbDataTransfer.Control(this, Handle, setup, data, cancellationToken);
    }

    public Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken) =>
        StreamTransferAsync(endpoint, 0, buffer, cancellationToken);

    public Task<UsbTransferResult> StreamTransferAsync(byte endpoint, uint streamId, Memory<byte> buffer, CancellationToken cancellationToken) =>
        DataTransferType(endpoint, streamId, out var type) is { } refusal
            ? Task.FromResult(UsbTransferResult.Failed(refusal))
            : LibUsbDataTransfer.Data(this, Handle, endpoint, type, streamId, buffer, cancellationToken);

    void IInlineCompletingDevice.StartTransfer(byte endpoint, uint streamId, Memory<byte> buffer, Action<UsbTransferResult, object> done, object state,
        CancellationToken cancellationToken)
    {
        if (DataTransferType(endpoint, streamId, out var type) is { } refusal)
            done(UsbTransferResult.Failed(refusal), state);
        else
            LibUsbDataTransfer.Data(this, Handle, endpoint, type, streamId, buffer, done, state, cancellationToken);
    }

    /// <summary>
    /// Whether <paramref name="endpoint"/> takes a bulk or interrupt transfer, or (<paramref name="streamId"/> &gt; 0) a
    /// bulk-stream transfer: null and its libusb transfer type in <paramref name="type"/> when it does, else the status
    /// that refuses it.
    /// </summary>
    private UsbStatus? DataTransferType(byte endpoint, uint streamId, out byte type)
    {
        Touched();
        (type, var refusal) = (GetEndpointType(endpoint), streamId) switch
        {
            (UsbEndpointType.Bulk, _) => (LibUsb.TransferTypeBulk, (UsbStatus?)null),
            (UsbEndpointType.Interrupt, 0) => (LibUsb.TransferTypeInterrupt, null),
            (_, 0) => ((byte)0, Gone.IsCancellationRequested ? UsbStatus.IoError : UsbStatus.Invalid),
            _ => ((byte)0, UsbStatus.Invalid),
        };
        return refusal;
    }

    public Task<UsbIsoTransferResult> IsoTransferAsync(byte endpoint, Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets,
        CancellationToken cancellationToken) =>
        Touched() && GetEndpointType(endpoint) == UsbEndpointType.Isochronous
            ? LibUsbIsoTransfer.Start(this, Handle, endpoint, buffer, packets, cancellationToken)
            : Task.FromResult(UsbIsoTransferResult.Failed(Gone.IsCancellationRequested ? UsbStatus.IoError : UsbStatus.Invalid, packets.Count));

    public Task<UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken) =>
        WorkAsync(() =>
        {
            if (configurationValue == ActiveConfiguration)
                return UsbStatus.Success; // as usbredirhost: the same configuration again changes nothing
            Touched();
            ReleaseInterfaces();
            var result = LibUsb.SetConfiguration(Handle, configurationValue);
            if (result != LibUsb.Success)
            {
                ClaimInterfaces(throwWhenBusy: false);
                return StatusOf(result);
            }
            lock (_gate)
            {
                _configuration = configurationValue;
                _active.ResetAlternates();
            }
            UpdateLayout();
            ClaimInterfaces(throwWhenBusy: false);
            return UsbStatus.Success;
        }, cancellationToken);

    public Task<UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken) =>
        WorkAsync(() =>
        {
            Touched();
            var result = LibUsb.SetInterfaceAltSetting(Handle, interfaceNumber, alternateSetting);
            if (result != LibUsb.Success)
                return StatusOf(result);
            lock (_gate)
                _active.SetAlternate(interfaceNumber, alternateSetting);
            UpdateLayout();
            return UsbStatus.Success;
        }, cancellationToken);

    public Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken) =>
        WorkAsync(() => StatusOf(LibUsb.ClearHalt(Handle, endpoint)), cancellationToken);

    public unsafe Task<UsbStreamsResult> AllocateStreamsAsync(IReadOnlyList<byte> endpoints, int streams, CancellationToken cancellationToken)
    {
        if (Gone.IsCancellationRequested)
            return Task.FromResult(new UsbStreamsResult(UsbStatus.IoError, 0));
        var list = endpoints.ToArray();
        return _context.RunAsync(() =>
        {
            fixed (byte* eps = list)
            {
                var result = LibUsb.AllocStreams(Handle, (uint)streams, eps, list.Length);
                return result >= 0 ? new UsbStreamsResult(UsbStatus.Success, result) : new UsbStreamsResult(StatusOf(result), 0);
            }
        }).WaitAsync(cancellationToken);
    }

    public unsafe Task<UsbStatus> FreeStreamsAsync(IReadOnlyList<byte> endpoints, CancellationToken cancellationToken)
    {
        var list = endpoints.ToArray();
        return WorkAsync(() =>
        {
            fixed (byte* eps = list)
                return StatusOf(LibUsb.FreeStreams(Handle, eps, list.Length));
        }, cancellationToken);
    }

    /// <summary>
    /// A port reset: pending transfers complete (Cancelled), the device returns to its default state with its
    /// configuration restored. A device that comes back as another device (new descriptors: a DFU device switching
    /// mode) is opened again at the same port and its descriptors are read anew. Skipped when nothing but standard
    /// reads reached the device since its last reset (as usbredirhost skips a reset with no transfer since the last): a
    /// kernel enumerating the device resets it twice around a GET_DESCRIPTOR, and opening already reset it.
    /// </summary>
    public async Task<UsbStatus> ResetAsync(CancellationToken cancellationToken)
    {
        if (Gone.IsCancellationRequested)
            return UsbStatus.IoError;
        lock (_gate)
            if (_resetSinceLastTransfer)
                return UsbStatus.Success; // nothing has happened since the last reset: the device is in its default state
        await CancelPendingAsync();
        return await WorkAsync(() =>
        {
            try
            {
                var result = ResetOnWorker();
                return result == LibUsb.Success ? UsbStatus.Success : StatusOf(result);
            }
            catch (UsbRedirException e)
            {
                MarkGone($"did not come back after a reset: {e.Message}");
                return UsbStatus.IoError;
            }
        }, CancellationToken.None);
    }

    /// <summary>Something changed the device's state since its last reset (see <see cref="ResetAsync"/>); always true.</summary>
    private bool Touched()
    {
        lock (_gate)
            _resetSinceLastTransfer = false;
        return true;
    }

    private LibUsbDeviceHandle Handle
    {
        get { lock (_gate) return _handle; }
    }

    /// <summary>A synchronous libusb call on the worker thread; IoError once the device is gone.</summary>
    private Task<UsbStatus> WorkAsync(Func<UsbStatus> call, CancellationToken cancellationToken)
    {
        if (Gone.IsCancellationRequested)
            return Task.FromResult(UsbStatus.IoError);
        return _context.RunAsync(call).WaitAsync(cancellationToken);
    }

    private UsbStatus StatusOf(int error)
    {
        switch (error)
        {
            case LibUsb.Success:
                return UsbStatus.Success;
            case LibUsb.ErrorPipe:
                return UsbStatus.Stall;
            case LibUsb.ErrorTimeout:
                return UsbStatus.Timeout;
            case LibUsb.ErrorOverflow:
                return UsbStatus.Babble;
            case LibUsb.ErrorInvalidParam:
                return UsbStatus.Invalid;
            // Everything else is an ioerror, as usbredirhost maps libusb's errors: LIBUSB_ERROR_NOT_FOUND for an alternate
            // setting or configuration the device does not have answers ioerror there (observed in a VM).
            case LibUsb.ErrorNoDevice:
                MarkGone("unplugged");
                return UsbStatus.IoError;
            default:
                return UsbStatus.IoError;
        }
    }

    // ---- opening, claiming, closing (worker thread) ----

    /// <summary>Opens the device at <see cref="PortPath"/>, from libusb's device list or (<paramref name="fromSysfs"/>) its usbfs node.</summary>
    private void OpenOnWorker(bool fromSysfs = false)
    {
        var (handle, speed, node) = fromSysfs ? OpenNodeOnWorker() : OpenListedOnWorker();
        DeviceNode = node;
        lock (_gate)
            _handle = handle;
        Speed = speed;
        ReadDescriptorsOnWorker();
        if (_deviceDescriptor[4] == 0x09 && !_options.AllowHub)
            throw LocalDeviceErrors.Hub(PortPath);
        ClaimInterfaces(throwWhenBusy: true);
    }

    /// <summary>
    /// The reset every usb-guest (QEMU's usb-redir, a kernel enumerating a virtual port) starts with, done before the
    /// device is offered, as usbredirhost does: that first reset then finds a freshly reset device and is skipped. On the
    /// machine that also runs the guest's host controller (a VM exporting its own device to its usb-redir) a reset
    /// requested during the guest's enumeration would wait for that enumeration, which waits for the device's answers.
    /// </summary>
    private void InitialResetOnWorker()
    {
        var result = ResetOnWorker();
        if (result != LibUsb.Success)
            throw LocalDeviceErrors.Failed(PortPath, "resetting the device", result);
    }

    /// <summary>
    /// A port reset (worker thread); libusb's result. A device that comes back as another device (libusb: NOT_FOUND, the
    /// old handle is dead) is opened again at its port (throws when it does not come back). Meanwhile its old usbfs node
    /// disappearing, or a transfer failing for want of the device, is the reset's doing, not an unplug.
    /// </summary>
    private int ResetOnWorker()
    {
        lock (_gate)
            _resetting = true;
        try
        {
            var result = LibUsb.ResetDevice(Handle);
            if (result == LibUsb.ErrorNotFound)
            {
                Notice?.Invoke($"{Description} came back from the reset as another device; opening it again");
                ReopenOnWorker();
            }
            else if (result != LibUsb.Success)
                return result;
            else
                ReadDescriptorsOnWorker();
            lock (_gate)
                _resetSinceLastTransfer = true;
            return LibUsb.Success;
        }
        finally
        {
            lock (_gate)
                _resetting = false;
        }
    }

    /// <summary>
    /// After a reset that re-enumerated the device: a new device number, a new handle, new descriptors. Transfers still
    /// pending on the dead handle complete first; new ones fail (IoError) until the device is open again.
    /// </summary>
    private void ReopenOnWorker()
    {
        lock (_gate)
        {
            _reopening = true;
            // The old handle's claims died with it, and the kernel drivers it detached were another device's.
            _claimed.Clear();
            _detached.Clear();
        }
        try
        {
            CancelPendingAsync().GetAwaiter().GetResult(); // completions come on the event thread, not this one
            Handle.Dispose();
            var deadline = DateTime.UtcNow + ReenumerationTimeout;
            while (true)
            {
                try
                {
                    OpenOnWorker(fromSysfs: true);
                    return;
                }
                catch (UsbRedirException e) when (e.ErrorId == "UsbDeviceNotFound" && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(100); // the worker thread: the device is re-enumerating
                }
            }
        }
        catch (UsbRedirException e)
        {
            MarkGone($"did not come back after a reset: {e.Message}"); // before new transfers may reach the dead handle
            throw;
        }
        finally
        {
            lock (_gate)
                _reopening = false;
        }
    }

    private unsafe (LibUsbDeviceHandle Handle, UsbSpeed Speed, string Node) OpenListedOnWorker()
    {
        var (device, node) = FindOnWorker();
        var result = LibUsb.Open(device.Device, out var opened);
        device.Free();
        if (result == LibUsb.ErrorAccess)
            throw LocalDeviceErrors.AccessDenied(PortPath, node);
        if (result != LibUsb.Success)
            throw LocalDeviceErrors.Failed(PortPath, $"opening {node}", result);
        return (LibUsbDeviceHandle.FromOpened(opened), device.Speed, node);
    }

    /// <summary>
    /// The device at <see cref="PortPath"/> found in sysfs, its usbfs node opened here and handed to libusb
    /// (libusb_wrap_sys_device). After a re-enumeration libusb's own device list is no help: its hotplug monitor learns of
    /// new devices from udevd, which a container or a minimal system does not run, so the new device never shows up there.
    /// </summary>
    private (LibUsbDeviceHandle Handle, UsbSpeed Speed, string Node) OpenNodeOnWorker()
    {
        var info = UsbDeviceEnumerator.FromEnvironment().GetDevice(PortPath) ?? throw LocalDeviceErrors.NotFound(PortPath);
        var node = NodeOf(PortPath.Bus, info.Address);
        var fd = new FileDescriptor(LibC.Open(node, LibC.O_RDWR | LibC.O_CLOEXEC));
        if (fd.IsInvalid)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                LibC.EACCES or LibC.EPERM => LocalDeviceErrors.AccessDenied(PortPath, node),
                LibC.ENOENT or LibC.ENODEV or LibC.ENXIO => LocalDeviceErrors.NotFound(PortPath), // still re-enumerating
                _ => LocalDeviceErrors.Failed(PortPath, $"opening {node} ({LibC.Describe(errno)})", LibUsb.ErrorIo),
            };
        }
        var result = LibUsb.WrapSysDevice(_context.Handle.DangerousGetHandle(), fd.DangerousGetHandle(), out var opened);
        if (result != LibUsb.Success)
        {
            fd.Dispose();
            throw LocalDeviceErrors.Failed(PortPath, $"opening {node}", result);
        }
        return (LibUsbDeviceHandle.FromWrapped(opened, fd), info.Speed, node);
    }

    private static string NodeOf(int bus, int address) =>
        string.Create(CultureInfo.InvariantCulture, $"/dev/bus/usb/{bus:D3}/{address:D3}");

    private readonly record struct Found(nint Device, UsbSpeed Speed, nint List)
    {
        public unsafe void Free() => LibUsb.FreeDeviceList((nint*)List, 1);
    }

    /// <summary>The libusb device at <see cref="PortPath"/> (a referenced list the caller frees) and its usbfs node.</summary>
    private unsafe (Found Device, string Node) FindOnWorker()
    {
        var count = LibUsb.GetDeviceList(_context.Handle.DangerousGetHandle(), out var list);
        if (count < 0)
            throw LocalDeviceErrors.Failed(PortPath, "listing the USB devices", (int)count);
        var ports = stackalloc byte[UsbPortPath.MaxDepth];
        for (var i = 0; i < count; i++)
        {
            var candidate = list[i];
            if (LibUsb.GetBusNumber(candidate) != PortPath.Bus)
                continue;
            var depth = LibUsb.GetPortNumbers(candidate, ports, UsbPortPath.MaxDepth);
            if (depth != PortPath.Ports.Count || !new ReadOnlySpan<byte>(ports, depth).SequenceEqual(PortPath.Ports.ToArray()))
                continue;
            var node = NodeOf(PortPath.Bus, LibUsb.GetDeviceAddress(candidate));
            var speed = LibUsb.GetDeviceSpeed(candidate) switch
            {
                LibUsb.SpeedLow => UsbSpeed.Low,
                LibUsb.SpeedFull => UsbSpeed.Full,
                LibUsb.SpeedHigh => UsbSpeed.High,
                LibUsb.SpeedSuper or LibUsb.SpeedSuperPlus => UsbSpeed.Super,
                _ => UsbSpeed.Unknown,
            };
            return (new Found(candidate, speed, (nint)list), node);
        }
        LibUsb.FreeDeviceList(list, 1);
        throw LocalDeviceErrors.NotFound(PortPath);
    }

    private unsafe void ReadDescriptorsOnWorker()
    {
        var device = ReadDescriptor(1, 0, 18);
        if (device.Length != 18 || device[1] != 1)
            throw new UsbRedirException("UsbDeviceDescriptorInvalid", UsbRedirErrorCategory.DeviceError,
                $"{PortPath.Id} ({PortPath.BusId}) returned a device descriptor of {device.Length} bytes.",
                "Re-plug the device; if it keeps failing, it is broken.", PortPath.Id);
        var configurations = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < device[17]; i++)
        {
            var head = ReadDescriptor(2, (byte)i, 9);
            if (head.Length < 4)
                break;
            configurations.Add(ReadDescriptor(2, (byte)i, BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(2))));
        }
        var result = LibUsb.GetConfiguration(Handle, out var active);
        if (result != LibUsb.Success)
            throw LocalDeviceErrors.Failed(PortPath, "reading the active configuration", result);
        lock (_gate)
        {
            _deviceDescriptor = device;
            _configurations = configurations;
            _configuration = (byte)active;
            _active.ResetAlternates();
        }
        Manufacturer = ReadString(device[14]);
        Product = ReadString(device[15]);
        SerialNumber = ReadString(device[16]);
        UpdateLayout();
    }

    private unsafe byte[] ReadDescriptor(byte type, byte index, ushort length)
    {
        var buffer = new byte[length];
        fixed (byte* p = buffer)
        {
            var result = LibUsb.ControlTransfer(Handle, 0x80, 6, (ushort)(type << 8 | index), 0, p, length, DescriptorTimeoutMs);
            if (result < 0)
                throw LocalDeviceErrors.Failed(PortPath, $"reading descriptor {type}/{index}", result);
            return buffer[..result];
        }
    }

    private unsafe string? ReadString(byte index)
    {
        if (index == 0)
            return null;
        var buffer = stackalloc byte[256];
        var result = LibUsb.GetStringDescriptorAscii(Handle, index, buffer, 256);
        return result > 0 ? System.Text.Encoding.ASCII.GetString(buffer, result) : null;
    }

    private void UpdateLayout()
    {
        var layout = DeviceLayout.ForActiveConfiguration(this);
        lock (_gate)
            _active.Layout = layout;
    }

    /// <summary>Claims every interface of the active configuration, detaching the kernel driver bound to it first.</summary>
    private void ClaimInterfaces(bool throwWhenBusy)
    {
        DeviceLayout layout;
        lock (_gate)
            layout = _active.Layout;
        foreach (var number in layout.Interfaces.Select(i => (int)i.Number).Distinct())
        {
            if (LibUsb.KernelDriverActive(Handle, number) == 1)
            {
                var detach = LibUsb.DetachKernelDriver(Handle, number);
                if (detach == LibUsb.Success)
                    lock (_gate)
                        _detached.Add(number);
                else if (detach == LibUsb.ErrorAccess)
                    throw LocalDeviceErrors.AccessDenied(PortPath, DeviceNode);
            }
            var result = LibUsb.ClaimInterface(Handle, number);
            if (result == LibUsb.Success)
            {
                lock (_gate)
                    _claimed.Add(number);
                continue;
            }
            if (!throwWhenBusy)
            {
                Notice?.Invoke($"{Description}: claiming interface {number} failed: {LibUsb.Describe(result)}");
                continue;
            }
            throw result switch
            {
                LibUsb.ErrorBusy => LocalDeviceErrors.InUseElsewhere(PortPath, DeviceNode, number),
                LibUsb.ErrorAccess => LocalDeviceErrors.AccessDenied(PortPath, DeviceNode),
                _ => LocalDeviceErrors.Failed(PortPath, $"claiming interface {number}", result),
            };
        }
    }

    private void ReleaseInterfaces()
    {
        int[] claimed;
        lock (_gate)
        {
            claimed = [.. _claimed];
            _claimed.Clear();
        }
        foreach (var number in claimed)
            LibUsb.ReleaseInterface(Handle, number);
    }

    /// <summary>Gives the interfaces back to their kernel drivers (usb-storage, usbhid, ...), as they were before the export.</summary>
    private void ReattachDrivers()
    {
        int[] detached;
        lock (_gate)
        {
            detached = [.. _detached];
            _detached.Clear();
        }
        foreach (var number in detached)
        {
            var result = LibUsb.AttachKernelDriver(Handle, number);
            // BUSY with a driver bound: the driver of an interface re-attached before took this one too (snd-usb-audio
            // claims its streaming interfaces from the control interface), so it is back.
            if (result == LibUsb.ErrorBusy && LibUsb.KernelDriverActive(Handle, number) == 1)
                continue;
            if (result is not (LibUsb.Success or LibUsb.ErrorNoDevice))
                Notice?.Invoke($"{Description}: re-attaching the kernel driver of interface {number} failed: {LibUsb.Describe(result)}");
        }
    }

    // ---- transfers in flight, unplug ----

    bool ILibUsbTransferOwner.TryAdd(LibUsbTransfer transfer)
    {
        lock (_gate)
        {
            if (_closing || _reopening || _goneReason is not null || _gone.IsCancellationRequested)
                return false;
            _pending.Add(transfer);
            return true;
        }
    }

    void ILibUsbTransferOwner.Remove(LibUsbTransfer transfer)
    {
        TaskCompletionSource? drained = null;
        lock (_gate)
        {
            _pending.Remove(transfer);
            if (_pending.Count == 0)
                (drained, _drained) = (_drained, null);
        }
        drained?.TrySetResult();
    }

    void ILibUsbTransferOwner.DeviceGone()
    {
        lock (_gate)
            if (_resetting)
                return; // the reset re-enumerates the device: it decides whether the device is gone (ResetOnWorker)
        MarkGone("unplugged");
    }

    void ILibUsbTransferOwner.SubmitFailed(int error)
    {
        if (error != LibUsb.ErrorNoDevice)
            Notice?.Invoke($"{Description}: libusb refused a transfer: {LibUsb.Describe(error)}");
    }

    /// <summary>Cancels every pending transfer and returns once each has completed (bounded: a transfer libusb never completes is reported).</summary>
    private async Task CancelPendingAsync()
    {
        LibUsbTransfer[] pending;
        Task drained;
        lock (_gate)
        {
            pending = [.. _pending];
            if (pending.Length == 0)
                return;
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            drained = _drained.Task;
        }
        foreach (var transfer in pending)
            transfer.Cancel();
        if (await Task.WhenAny(drained, Task.Delay(DrainTimeout)) != drained)
            Notice?.Invoke($"{Description}: {pending.Length} transfer(s) did not complete within {DrainTimeout.TotalSeconds} s of their cancellation");
    }

    /// <summary>On the event thread about every half second: a device whose usbfs node is gone has been unplugged.</summary>
    private void CheckPresent()
    {
        lock (_gate)
            if (_resetting)
                return; // a reset that re-enumerates the device removes its node and makes a new one (ResetOnWorker)
        if (DeviceNode.Length > 0 && !_gone.IsCancellationRequested && !File.Exists(DeviceNode))
            MarkGone("unplugged");
    }

    private void MarkGone(string reason)
    {
        lock (_gate)
        {
            if (_goneReason is not null)
                return;
            _goneReason = reason;
        }
        if (reason != "closed")
            Notice?.Invoke($"{Description} is gone: {reason}");
        // Not on the calling thread (often libusb's event thread): Gone's callbacks belong to the thread pool. The
        // transfers still pending complete with LIBUSB_TRANSFER_NO_DEVICE (libusb sees the node's POLLERR), or are cancelled here.
        ThreadPool.UnsafeQueueUserWorkItem(static self =>
        {
            self._gone.Cancel();
            LibUsbTransfer[] pending;
            lock (self._gate)
                pending = [.. self._pending];
            foreach (var transfer in pending)
                transfer.Cancel();
        }, this, preferLocal: false);
    }

    /// <summary>
    /// Ends the export: pending transfers complete, the interfaces are released and their kernel drivers re-attached,
    /// the handle and the libusb context close, and the port is free for another export.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await CloseAsync(reattach: true);
    }

    private async Task CloseAsync(bool reattach)
    {
        lock (_gate)
            _closing = true;
        await CancelPendingAsync();
        bool drained;
        lock (_gate)
            drained = _pending.Count == 0;
        try
        {
            await _context.RunAsync(() =>
            {
                if (Handle is { } handle)
                {
                    ReleaseInterfaces();
                    if (reattach)
                        ReattachDrivers();
                    if (drained)
                        handle.Dispose(); // libusb_close only once nothing is in flight
                }
                return true;
            });
        }
        catch (Exception e)
        {
            Notice?.Invoke($"{Description}: closing failed: {e.Message}");
        }
        MarkGone("closed");
        if (drained)
            // Joins the context's threads: on a thread of its own, not a thread-pool thread.
            await Task.Factory.StartNew(_context.Dispose, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        lock (RegistryGate)
            Exported.Remove(PortPath);
    }
}
