using System.Buffers.Binary;

namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>bCSWStatus values (BOT 5.2).</summary>
public enum CommandStatus : byte
{
    Passed = 0,
    Failed = 1,
    PhaseError = 2,
}

/// <summary>The 13-byte Command Status Wrapper the device returns on bulk IN (BOT 5.2).</summary>
public readonly record struct CommandStatusWrapper(uint Tag, uint DataResidue, CommandStatus Status)
{
    public const int Size = 13;
    public const uint SignatureValue = 0x53425355; // "USBS"

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, SignatureValue);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Tag);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], DataResidue);
        destination[12] = (byte)Status;
    }

    public static bool TryParse(ReadOnlySpan<byte> bytes, out CommandStatusWrapper csw)
    {
        csw = default;
        if (bytes.Length != Size || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != SignatureValue)
            return false;
        csw = new CommandStatusWrapper(BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), (CommandStatus)bytes[12]);
        return true;
    }
}
