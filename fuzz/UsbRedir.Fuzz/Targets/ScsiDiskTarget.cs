using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The software disk's bulk-only transport and SCSI command handling, driven as a host would drive the exported
/// device (<see cref="MassStorageDevice"/> through <see cref="IUsbDevice"/>): the input is a list of operations — raw
/// or well-formed CBWs, whole commands (CBW, data phase, CSW), OUT data, IN reads, halts cleared, class and standard
/// control requests, resets — against a 32 KiB image (writable or read-only, chosen by the first byte).
/// </summary>
/// <remarks>
/// Expected: none. The device answers everything with a USB status; an exception, a transfer longer than its buffer,
/// or a CSW with the wrong signature or tag is a crash.
/// </remarks>
internal static class ScsiDiskTarget
{
    private const int MaxOperations = 64;
    private static readonly Lazy<MassStorageDevice> Writable = new(() => Create(readOnly: false));
    private static readonly Lazy<MassStorageDevice> ReadOnly = new(() => Create(readOnly: true));

    public static void Run(byte[] data)
    {
        var input = new FuzzInput(data);
        var disk = input.Bool() ? ReadOnly.Value : Writable.Value;
        // Power-on state for every input: reset, configured, no halts.
        Complete(disk.ResetAsync(CancellationToken.None));
        Complete(disk.SetConfigurationAsync(1, CancellationToken.None));
        Control(disk, new UsbSetupPacket(0x21, MassStorageDevice.RequestBulkOnlyReset, 0, 0, 0), []);
        Complete(disk.ClearHaltAsync(MassStorageDevice.BulkInEndpoint, CancellationToken.None));
        Complete(disk.ClearHaltAsync(MassStorageDevice.BulkOutEndpoint, CancellationToken.None));

        for (var op = 0; op < MaxOperations && !input.IsEmpty; op++)
        {
            switch (input.Byte() % 9)
            {
                case 0:
                    Out(disk, input.Bytes(CommandBlockWrapper.Size));
                    break;
                case 1:
                    Command(disk, input);
                    break;
                case 2:
                    Out(disk, input.Bytes(input.Range(4096)));
                    break;
                case 3:
                    In(disk, input.Range(8192));
                    break;
                case 4:
                    Complete(disk.ClearHaltAsync(input.Bool() ? MassStorageDevice.BulkInEndpoint : MassStorageDevice.BulkOutEndpoint, CancellationToken.None));
                    break;
                case 5:
                {
                    var setup = UsbSetupPacket.Read(Pad(input.Bytes(8), 8));
                    Control(disk, setup with { Length = (ushort)Math.Min((int)setup.Length, 4096) }, input.Bytes(setup.Length));
                    break;
                }
                case 6:
                    Control(disk, input.Bool()
                        ? new UsbSetupPacket(0x21, MassStorageDevice.RequestBulkOnlyReset, 0, 0, 0)
                        : new UsbSetupPacket(0xA1, MassStorageDevice.RequestGetMaxLun, 0, 0, 1), []);
                    break;
                case 7:
                    Complete(disk.ResetAsync(CancellationToken.None));
                    Complete(disk.SetConfigurationAsync(1, CancellationToken.None));
                    break;
                default:
                    Complete(disk.SetConfigurationAsync(input.Byte(), CancellationToken.None));
                    break;
            }
        }
    }

    /// <summary>
    /// A well-formed command as usb-storage sends it: CBW, the whole data phase, then the CSW (a halt cleared on the way).
    /// It starts with usb-storage's reset recovery (Bulk-Only Mass Storage Reset, both halts cleared), so whatever the
    /// raw operations before it left behind, the CSW that ends it must be this command's.
    /// </summary>
    private static void Command(MassStorageDevice disk, FuzzInput input)
    {
        Control(disk, new UsbSetupPacket(0x21, MassStorageDevice.RequestBulkOnlyReset, 0, 0, 0), []);
        Complete(disk.ClearHaltAsync(MassStorageDevice.BulkInEndpoint, CancellationToken.None));
        Complete(disk.ClearHaltAsync(MassStorageDevice.BulkOutEndpoint, CancellationToken.None));
        var tag = input.UInt32();
        var dataIn = input.Bool();
        var length = (uint)input.Range(16384);
        var cdb = Pad(input.Bytes(1 + input.Range(15)), 16);
        var cdbLength = (byte)(1 + (input.Byte() & 15));
        var cbw = new byte[CommandBlockWrapper.Size];
        new CommandBlockWrapper(tag, length, (byte)(dataIn ? 0x80 : 0), 0, cdbLength, cdb).WriteTo(cbw);
        if (Out(disk, cbw).Status != UsbStatus.Success)
            return;
        if (length > 0 && dataIn)
        {
            var result = In(disk, (int)length);
            if (result.Status == UsbStatus.Stall)
                Complete(disk.ClearHaltAsync(MassStorageDevice.BulkInEndpoint, CancellationToken.None));
        }
        else if (length > 0)
        {
            var result = Out(disk, Pad(input.Bytes((int)length), (int)length));
            if (result.Status == UsbStatus.Stall)
                Complete(disk.ClearHaltAsync(MassStorageDevice.BulkOutEndpoint, CancellationToken.None));
        }
        var buffer = new byte[CommandStatusWrapper.Size];
        var csw = Transfer(disk, MassStorageDevice.BulkInEndpoint, buffer);
        if (csw.Status == UsbStatus.Stall)
        {
            Complete(disk.ClearHaltAsync(MassStorageDevice.BulkInEndpoint, CancellationToken.None));
            csw = Transfer(disk, MassStorageDevice.BulkInEndpoint, buffer);
        }
        if (csw is { Status: UsbStatus.Success, ActualLength: CommandStatusWrapper.Size })
        {
            Invariant.Check(BinaryPrimitives.ReadUInt32LittleEndian(buffer) == 0x53425355, "a CSW without the USBS signature");
            Invariant.Check(BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(4)) == tag, "a CSW for another tag");
            Invariant.Check(buffer[12] <= 2, $"CSW status {buffer[12]}");
        }
    }

    private static UsbTransferResult Out(MassStorageDevice disk, byte[] data) => Transfer(disk, MassStorageDevice.BulkOutEndpoint, data);

    private static UsbTransferResult In(MassStorageDevice disk, int length) => Transfer(disk, MassStorageDevice.BulkInEndpoint, new byte[length]);

    /// <summary>One bulk transfer; an IN the device has nothing for yet (a NAK) is cancelled, as a host's timeout would.</summary>
    private static UsbTransferResult Transfer(MassStorageDevice disk, byte endpoint, byte[] buffer)
    {
        using var cancel = new CancellationTokenSource();
        var task = disk.TransferAsync(endpoint, buffer, cancel.Token);
        if (!task.IsCompleted)
            cancel.Cancel();
        var result = task.GetAwaiter().GetResult();
        Invariant.Check(result.ActualLength >= 0 && result.ActualLength <= buffer.Length, $"{result.ActualLength} bytes in a {buffer.Length}-byte transfer");
        return result;
    }

    private static void Control(MassStorageDevice disk, UsbSetupPacket setup, byte[] outData)
    {
        var buffer = setup.IsDeviceToHost ? new byte[setup.Length] : Pad(outData, setup.Length);
        var result = disk.ControlTransferAsync(setup, buffer, CancellationToken.None).GetAwaiter().GetResult();
        Invariant.Check(result.ActualLength >= 0 && result.ActualLength <= setup.Length, $"{result.ActualLength} bytes for a {setup.Length}-byte control transfer");
    }

    private static void Complete(Task task) => task.GetAwaiter().GetResult();

    private static byte[] Pad(byte[] bytes, int length) => bytes.Length >= length ? bytes : [.. bytes, .. new byte[length - bytes.Length]];

    private static MassStorageDevice Create(bool readOnly)
    {
        var path = Path.Combine(FuzzScratch.Directory, readOnly ? "disk-ro.img" : "disk-rw.img");
        var image = new byte[64 * 512];
        for (var i = 0; i < image.Length; i++)
            image[i] = (byte)(i * 7);
        File.WriteAllBytes(path, image);
        return VirtualDevices.CreateDisk(path, readOnly, UsbSpeed.High);
    }
}
