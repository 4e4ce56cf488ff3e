using UsbRedir.Devices;
using UsbRedir.Devices.Software;

namespace UsbRedir.Tests.Support;

/// <summary>
/// A device that comes back from a reset as another device, as a DFU device does (USB DFU 1.1, section 5): in run-time
/// mode (<see cref="RuntimeProductId"/>, interface class FE/01/01) it accepts DFU_DETACH; the next port reset brings it
/// back in DFU mode (<see cref="DfuProductId"/>, interface FE/01/02), which a host sees as new descriptors and enumerates
/// anew. DFU_GETSTATUS answers the state (appIDLE, appDETACH, dfuIDLE). bitWillDetach is clear: the host must reset it.
/// </summary>
internal sealed class DfuTestDevice : SoftwareUsbDevice
{
    public const ushort VendorId = 0x1209;
    public const ushort RuntimeProductId = 0x000E;
    public const ushort DfuProductId = 0x000F;
    public const byte Detach = 0, GetStatus = 3;
    public const byte AppIdle = 0, AppDetach = 1, DfuIdle = 2;

    private byte _state = AppIdle;

    public DfuTestDevice()
        : base(UsbSpeed.High, ModeDescriptors(dfuMode: false), "UsbRedir DFU test device")
    {
    }

    /// <summary>The descriptors of run-time mode (<see cref="RuntimeProductId"/>) or DFU mode (<see cref="DfuProductId"/>).</summary>
    public static UsbDescriptorSet ModeDescriptors(bool dfuMode) =>
        DescriptorBuilder.Build(dfuMode ? Definition(DfuProductId, 2) : Definition(RuntimeProductId, 1), null);

    /// <summary>The DFU state (<see cref="AppIdle"/>, <see cref="AppDetach"/> or <see cref="DfuIdle"/>).</summary>
    public byte State { get { lock (SyncRoot) return _state; } }

    protected override UsbTransferResult? HandleClassOrVendorRequest(UsbSetupPacket setup, Memory<byte> data)
    {
        const byte classInterfaceOut = 0x21, classInterfaceIn = 0xA1;
        if (setup.RequestType == classInterfaceOut && setup.Request == Detach && _state == AppIdle)
        {
            _state = AppDetach;
            return new UsbTransferResult(UsbStatus.Success, 0);
        }
        if (setup.RequestType == classInterfaceIn && setup.Request == GetStatus && setup.Length >= 6)
        {
            // bStatus OK, bwPollTimeout 0, bState, iString 0
            data.Span[..6].Clear();
            data.Span[4] = _state;
            return new UsbTransferResult(UsbStatus.Success, 6);
        }
        return null;
    }

    protected override void OnReset()
    {
        if (_state != AppDetach)
            return;
        _state = DfuIdle;
        Descriptors = ModeDescriptors(dfuMode: true);
    }

    protected override UsbTransferResult? TryTransfer(byte endpoint, Memory<byte> buffer) => UsbTransferResult.Failed(UsbStatus.Invalid);

    private static UsbDeviceDefinition Definition(ushort productId, byte protocol) => new(VendorId, productId, 0x0100, 0, 0, 0, 64,
        "UsbRedir", protocol == 1 ? "UsbRedir DFU test device" : "UsbRedir DFU test device (DFU mode)", "DFU0001",
        [
            new UsbConfigurationDefinition(1, null, 0, 100,
            [
                // DFU functional descriptor: bmAttributes can download and upload (bitWillDetach clear), wDetachTimeOut
                // 1000 ms, wTransferSize 64, bcdDFUVersion 1.10.
                new UsbInterfaceDefinition(0, 0, 0xFE, 0x01, protocol, null, [])
                    { ClassDescriptors = new byte[] { 9, 0x21, 0x03, 0xE8, 0x03, 0x40, 0x00, 0x10, 0x01 } },
            ]),
        ]);
}
