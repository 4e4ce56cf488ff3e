using System.Buffers.Binary;

namespace UsbRedir.Devices;

/// <summary>The 8-byte SETUP stage of a control transfer.</summary>
public readonly record struct UsbSetupPacket(byte RequestType, byte Request, ushort Value, ushort Index, ushort Length)
{
    /// <summary>True when the data stage (if any) goes device-to-host.</summary>
    public bool IsDeviceToHost => (RequestType & 0x80) != 0;

    public static UsbSetupPacket Read(ReadOnlySpan<byte> bytes) => new(
        bytes[0], bytes[1],
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]),
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]));

    public void Write(Span<byte> bytes)
    {
        bytes[0] = RequestType;
        bytes[1] = Request;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[2..], Value);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[4..], Index);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[6..], Length);
    }

    public override string ToString() =>
        $"bmRequestType=0x{RequestType:x2} bRequest=0x{Request:x2} wValue=0x{Value:x4} wIndex=0x{Index:x4} wLength={Length}";
}
