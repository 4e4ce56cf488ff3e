namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>
/// A USB flash drive in software: mass storage class, SCSI transparent command set, bulk-only transport
/// (interface 08/06/50) over an image file. High speed (bulk packets of 512) or full speed (64).
/// Create one with <see cref="VirtualDevices.CreateDisk"/>.
/// </summary>
public sealed class MassStorageDevice : SoftwareUsbDevice, IBulkOnlyPipes
{
    public const byte BulkInEndpoint = 0x81;
    public const byte BulkOutEndpoint = 0x02;
    public const byte InterfaceNumber = 0;

    /// <summary>Class request: Bulk-Only Mass Storage Reset (BOT 3.1).</summary>
    public const byte RequestBulkOnlyReset = 0xFF;

    /// <summary>Class request: Get Max LUN (BOT 3.2).</summary>
    public const byte RequestGetMaxLun = 0xFE;

    private const string ProductName = "UsbRedir Virtual Disk";

    private readonly BulkOnlyTransport _transport;

    internal MassStorageDevice(DiskImage image, UsbSpeed speed, string serialNumber)
        : base(speed, BuildDescriptors(speed, serialNumber), Describe(image))
    {
        Image = image;
        Disk = new ScsiDisk(image, serialNumber);
        SerialNumber = serialNumber;
        _transport = new BulkOnlyTransport(Disk, this);
    }

    public DiskImage Image { get; }

    public string SerialNumber { get; }

    public string ImagePath => Image.Path;

    public bool ReadOnly => Image.ReadOnly;

    /// <summary>The SCSI logical unit (sense data, medium state); for diagnostics.</summary>
    internal ScsiDisk Disk { get; }

    /// <summary>True after an invalid CBW until the host sends a Bulk-Only Mass Storage Reset.</summary>
    public bool NeedsResetRecovery
    {
        get { lock (SyncRoot) return _transport.NeedsResetRecovery; }
    }

    void IBulkOnlyPipes.Halt(bool bulkIn, bool wedge) => HaltEndpoint(bulkIn ? BulkInEndpoint : BulkOutEndpoint, wedge);

    void IBulkOnlyPipes.UnwedgeBoth()
    {
        UnwedgeEndpoint(BulkInEndpoint);
        UnwedgeEndpoint(BulkOutEndpoint);
    }

    protected override UsbTransferResult? TryTransfer(byte endpoint, Memory<byte> buffer) => endpoint switch
    {
        BulkOutEndpoint => _transport.BulkOut(buffer.Span),
        BulkInEndpoint => _transport.BulkIn(buffer.Span),
        _ => UsbTransferResult.Failed(UsbStatus.Invalid),
    };

    protected override UsbTransferResult? HandleClassOrVendorRequest(UsbSetupPacket setup, Memory<byte> data)
    {
        if (setup.Index != InterfaceNumber || setup.Value != 0 || !IsConfigured)
            return null;
        switch (setup.RequestType, setup.Request)
        {
            case (0x21, RequestBulkOnlyReset) when setup.Length == 0:
                _transport.ResetRecovery();
                return UsbTransferResult.Ok(0);
            case (0xA1, RequestGetMaxLun) when setup.Length >= 1:
                return Reply([0], data.Span); // one logical unit: LUN 0
            default:
                return null;
        }
    }

    protected override void OnReset()
    {
        _transport.Reset();
        Disk.Reset();
    }

    protected override void OnConfigurationChanged(byte configurationValue) => _transport.Reset();

    protected override ValueTask DisposeCoreAsync()
    {
        // Flushes (write-through) before closing; no transfer can reach the image any more.
        lock (SyncRoot)
            Image.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string Describe(DiskImage image) =>
        $"UsbRedir virtual disk ({System.IO.Path.GetFileName(image.Path)}, {FormatSize(image.Length)}{(image.ReadOnly ? ", read-only" : "")})";

    private static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30} GiB",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} bytes",
    };

    /// <exception cref="UsbRedirException">Low speed (no bulk endpoints) or SuperSpeed (not emulated).</exception>
    internal static void CheckSpeed(UsbSpeed speed)
    {
        if (speed is not (UsbSpeed.Full or UsbSpeed.High))
            throw new UsbRedirException("DiskSpeedUnsupported", UsbRedirErrorCategory.InvalidArgument,
                $"A virtual disk cannot run at {speed} speed.",
                "Use High (USB 2.0, the default) or Full speed; low speed has no bulk endpoints and SuperSpeed is not emulated.", speed);
    }

    private static UsbDescriptorSet BuildDescriptors(UsbSpeed speed, string serialNumber)
    {
        CheckSpeed(speed);
        return DescriptorBuilder.Build(Define(speed, serialNumber), speed == UsbSpeed.High ? Define(UsbSpeed.Full, serialNumber) : null);
    }

    private static UsbDeviceDefinition Define(UsbSpeed speed, string serialNumber)
    {
        // Bulk max packet size is fixed by the speed: 512 at high speed, 64 at full speed (USB 2.0 5.8.3).
        var packet = (ushort)(speed == UsbSpeed.High ? 512 : 64);
        var storage = new UsbInterfaceDefinition(InterfaceNumber, 0,
            InterfaceClass: 0x08, InterfaceSubClass: 0x06, InterfaceProtocol: 0x50, Name: null,
            [
                new UsbEndpointDefinition(BulkInEndpoint, UsbEndpointType.Bulk, packet, 0),
                new UsbEndpointDefinition(BulkOutEndpoint, UsbEndpointType.Bulk, packet, 0),
            ]);
        return new UsbDeviceDefinition(VirtualDevices.VendorId, VirtualDevices.DiskProductId, VirtualDevices.DeviceRelease,
            DeviceClass: 0, DeviceSubClass: 0, DeviceProtocol: 0, MaxPacketSize0: 64,
            VirtualDevices.Manufacturer, ProductName, serialNumber,
            [new UsbConfigurationDefinition(1, null, Attributes: 0, MaxPowerMilliamps: 100, [storage])]);
    }
}
