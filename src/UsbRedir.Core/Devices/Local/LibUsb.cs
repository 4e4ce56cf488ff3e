using System.Runtime.InteropServices;

namespace UsbRedir.Devices.Local;

/// <summary>
/// The part of Debian's libusb-1.0 (<c>libusb-1.0.so.0</c>, package <c>libusb-1.0-0</c>) that <see cref="LocalUsbDevice"/>
/// uses, bound at run time. Only the asynchronous transfer API moves data; the synchronous calls (open, claim, set
/// configuration, reset, ...) run on a device's own worker thread, never on the thread pool.
/// </summary>
internal static unsafe partial class LibUsb
{
    public const string Library = "libusb-1.0.so.0";

    // enum libusb_error
    public const int Success = 0, ErrorIo = -1, ErrorInvalidParam = -2, ErrorAccess = -3, ErrorNoDevice = -4, ErrorNotFound = -5,
        ErrorBusy = -6, ErrorTimeout = -7, ErrorOverflow = -8, ErrorPipe = -9, ErrorInterrupted = -10, ErrorNoMem = -11,
        ErrorNotSupported = -12, ErrorOther = -99;

    // enum libusb_transfer_type
    public const byte TransferTypeControl = 0, TransferTypeIsochronous = 1, TransferTypeBulk = 2, TransferTypeInterrupt = 3, TransferTypeBulkStream = 4;

    // enum libusb_transfer_status
    public const int TransferCompleted = 0, TransferError = 1, TransferTimedOut = 2, TransferCancelled = 3, TransferStall = 4,
        TransferNoDevice = 5, TransferOverflow = 6;

    // enum libusb_speed
    public const int SpeedUnknown = 0, SpeedLow = 1, SpeedFull = 2, SpeedHigh = 3, SpeedSuper = 4, SpeedSuperPlus = 5;

    /// <summary>struct libusb_transfer (libusb.h, 1.0.26), followed in memory by num_iso_packets <see cref="IsoPacketDescriptor"/>s.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Transfer
    {
        public nint DevHandle;
        public byte Flags;
        public byte Endpoint;
        public byte Type;
        public uint Timeout;
        public int Status;
        public int Length;
        public int ActualLength;
        public nint Callback;
        public nint UserData;
        public byte* Buffer;
        public int NumIsoPackets;
        // struct libusb_iso_packet_descriptor iso_packet_desc[] starts at offset 60 (4-byte aligned).
    }

    /// <summary>struct libusb_iso_packet_descriptor.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IsoPacketDescriptor
    {
        public uint Length;
        public uint ActualLength;
        public int Status;
    }

    /// <summary>The iso packet descriptors that follow a transfer (the flexible array member).</summary>
    public static IsoPacketDescriptor* IsoPackets(Transfer* transfer) => (IsoPacketDescriptor*)((byte*)transfer + 60);

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public nint Seconds;
        public nint Microseconds;
    }

    [LibraryImport(Library, EntryPoint = "libusb_init")]
    public static partial int Init(out nint context);

    [LibraryImport(Library, EntryPoint = "libusb_exit")]
    public static partial void Exit(nint context);

    [LibraryImport(Library, EntryPoint = "libusb_get_device_list")]
    public static partial nint GetDeviceList(nint context, out nint* list);

    [LibraryImport(Library, EntryPoint = "libusb_free_device_list")]
    public static partial void FreeDeviceList(nint* list, int unrefDevices);

    [LibraryImport(Library, EntryPoint = "libusb_get_bus_number")]
    public static partial byte GetBusNumber(nint device);

    [LibraryImport(Library, EntryPoint = "libusb_get_device_address")]
    public static partial byte GetDeviceAddress(nint device);

    [LibraryImport(Library, EntryPoint = "libusb_get_port_numbers")]
    public static partial int GetPortNumbers(nint device, byte* ports, int length);

    [LibraryImport(Library, EntryPoint = "libusb_get_device_speed")]
    public static partial int GetDeviceSpeed(nint device);

    [LibraryImport(Library, EntryPoint = "libusb_open")]
    public static partial int Open(nint device, out nint handle);

    /// <summary>Opens a device from a usbfs file descriptor the caller opened (and closes after libusb_close).</summary>
    [LibraryImport(Library, EntryPoint = "libusb_wrap_sys_device")]
    public static partial int WrapSysDevice(nint context, nint systemDevice, out nint handle);

    [LibraryImport(Library, EntryPoint = "libusb_close")]
    public static partial void Close(nint handle);

    [LibraryImport(Library, EntryPoint = "libusb_get_device")]
    public static partial nint GetDevice(LibUsbDeviceHandle handle);

    [LibraryImport(Library, EntryPoint = "libusb_get_configuration")]
    public static partial int GetConfiguration(LibUsbDeviceHandle handle, out int configuration);

    [LibraryImport(Library, EntryPoint = "libusb_set_configuration")]
    public static partial int SetConfiguration(LibUsbDeviceHandle handle, int configuration);

    [LibraryImport(Library, EntryPoint = "libusb_claim_interface")]
    public static partial int ClaimInterface(LibUsbDeviceHandle handle, int interfaceNumber);

    [LibraryImport(Library, EntryPoint = "libusb_release_interface")]
    public static partial int ReleaseInterface(LibUsbDeviceHandle handle, int interfaceNumber);

    [LibraryImport(Library, EntryPoint = "libusb_set_interface_alt_setting")]
    public static partial int SetInterfaceAltSetting(LibUsbDeviceHandle handle, int interfaceNumber, int alternateSetting);

    [LibraryImport(Library, EntryPoint = "libusb_clear_halt")]
    public static partial int ClearHalt(LibUsbDeviceHandle handle, byte endpoint);

    [LibraryImport(Library, EntryPoint = "libusb_reset_device")]
    public static partial int ResetDevice(LibUsbDeviceHandle handle);

    [LibraryImport(Library, EntryPoint = "libusb_alloc_streams")]
    public static partial int AllocStreams(LibUsbDeviceHandle handle, uint numStreams, byte* endpoints, int numEndpoints);

    [LibraryImport(Library, EntryPoint = "libusb_free_streams")]
    public static partial int FreeStreams(LibUsbDeviceHandle handle, byte* endpoints, int numEndpoints);

    [LibraryImport(Library, EntryPoint = "libusb_kernel_driver_active")]
    public static partial int KernelDriverActive(LibUsbDeviceHandle handle, int interfaceNumber);

    [LibraryImport(Library, EntryPoint = "libusb_detach_kernel_driver")]
    public static partial int DetachKernelDriver(LibUsbDeviceHandle handle, int interfaceNumber);

    [LibraryImport(Library, EntryPoint = "libusb_attach_kernel_driver")]
    public static partial int AttachKernelDriver(LibUsbDeviceHandle handle, int interfaceNumber);

    [LibraryImport(Library, EntryPoint = "libusb_control_transfer")]
    public static partial int ControlTransfer(LibUsbDeviceHandle handle, byte requestType, byte request, ushort value, ushort index,
        byte* data, ushort length, uint timeoutMs);

    [LibraryImport(Library, EntryPoint = "libusb_get_string_descriptor_ascii")]
    public static partial int GetStringDescriptorAscii(LibUsbDeviceHandle handle, byte index, byte* data, int length);

    [LibraryImport(Library, EntryPoint = "libusb_alloc_transfer")]
    public static partial Transfer* AllocTransfer(int isoPackets);

    [LibraryImport(Library, EntryPoint = "libusb_free_transfer")]
    public static partial void FreeTransfer(Transfer* transfer);

    [LibraryImport(Library, EntryPoint = "libusb_submit_transfer")]
    public static partial int SubmitTransfer(Transfer* transfer);

    [LibraryImport(Library, EntryPoint = "libusb_cancel_transfer")]
    public static partial int CancelTransfer(Transfer* transfer);

    [LibraryImport(Library, EntryPoint = "libusb_transfer_set_stream_id")]
    public static partial void TransferSetStreamId(Transfer* transfer, uint streamId);

    [LibraryImport(Library, EntryPoint = "libusb_handle_events_timeout_completed")]
    public static partial int HandleEventsTimeoutCompleted(nint context, TimeVal* timeout, int* completed);

    [LibraryImport(Library, EntryPoint = "libusb_interrupt_event_handler")]
    public static partial void InterruptEventHandler(nint context);

    [LibraryImport(Library, EntryPoint = "libusb_error_name")]
    private static partial nint ErrorNamePtr(int error);

    [LibraryImport(Library, EntryPoint = "libusb_strerror")]
    private static partial nint StrErrorPtr(int error);

    /// <summary>"LIBUSB_ERROR_ACCESS (Access denied (insufficient permissions))".</summary>
    public static string Describe(int error) =>
        $"{Marshal.PtrToStringUTF8(ErrorNamePtr(error))} ({Marshal.PtrToStringUTF8(StrErrorPtr(error))})";

    private static readonly Lazy<string?> LoadProblem = new(() =>
    {
        if (!OperatingSystem.IsLinux())
            return "local USB devices are supported on Linux only";
        return NativeLibrary.TryLoad(Library, typeof(LibUsb).Assembly, null, out _) ? null : $"{Library} could not be loaded";
    });

    /// <summary>Throws a clear error naming the package when libusb is not installed; call before the first libusb call.</summary>
    /// <exception cref="UsbRedirException">LibUsbNotInstalled.</exception>
    public static void EnsureLoaded()
    {
        if (LoadProblem.Value is { } problem)
            throw new UsbRedirException("LibUsbNotInstalled", UsbRedirErrorCategory.NotInstalled,
                $"Local USB devices need libusb-1.0: {problem}.",
                "Install the package libusb-1.0-0 (apt-get install libusb-1.0-0), or the libusb 1.0 package of your distribution.");
    }
}
