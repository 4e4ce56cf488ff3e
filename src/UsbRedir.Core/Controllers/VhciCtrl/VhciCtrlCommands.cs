using System.Buffers.Binary;
using static UsbRedir.Controllers.VhciCtrl.VhciCtrlAbi;

namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>Encodes the commands written to /dev/vhci-ctrl (sans-IO): one whole command per write().</summary>
internal static class VhciCtrlCommands
{
    /// <summary>Plug a device into <paramref name="port"/> at <paramref name="speed"/> (VhciCtrlAbi.Speed*).</summary>
    public static byte[] Connect(int port, uint speed)
    {
        var command = PortCommand(CommandConnect, port);
        BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(VhciCtrlAbi.Connect.Speed), speed);
        return command;
    }

    /// <summary>Unplug <paramref name="port"/>.</summary>
    public static byte[] Disconnect(int port) => PortCommand(CommandDisconnect, port);

    /// <summary>Where the iso results and the IN data of a COMPLETE go, after its fixed part.</summary>
    public static int CompletePayloadOffset(int isoPackets) => Complete.Size + isoPackets * IsoResultSize;

    /// <summary>
    /// Writes the fixed part of a COMPLETE for URB <paramref name="id"/> into <paramref name="destination"/>; the caller puts
    /// <paramref name="isoPackets"/> results (<see cref="WriteIsoResult"/>) and then <paramref name="dataLength"/> IN data
    /// bytes after it. Returns the command's whole length, the byte count to write.
    /// </summary>
    public static int WriteComplete(Span<byte> destination, ulong id, int status, int actualLength, int isoPackets, int errorCount,
        int startFrame, int dataLength)
    {
        var length = CompletePayloadOffset(isoPackets) + dataLength;
        destination[..Complete.Size].Clear();
        WriteHeader(destination, CommandComplete, 0, length, id);
        BinaryPrimitives.WriteInt32LittleEndian(destination[Complete.Status..], status);
        BinaryPrimitives.WriteInt32LittleEndian(destination[Complete.ActualLength..], actualLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[Complete.IsoPackets..], isoPackets);
        BinaryPrimitives.WriteInt32LittleEndian(destination[Complete.ErrorCount..], errorCount);
        BinaryPrimitives.WriteInt32LittleEndian(destination[Complete.StartFrame..], startFrame);
        BinaryPrimitives.WriteInt32LittleEndian(destination[Complete.DataLength..], dataLength);
        return length;
    }

    /// <summary>Writes result <paramref name="index"/> of a COMPLETE's iso results.</summary>
    public static void WriteIsoResult(Span<byte> destination, int index, int actualLength, int status)
    {
        var at = destination[(Complete.Size + index * IsoResultSize)..];
        BinaryPrimitives.WriteInt32LittleEndian(at, actualLength);
        BinaryPrimitives.WriteInt32LittleEndian(at[4..], status);
    }

    private static byte[] PortCommand(ushort type, int port)
    {
        var command = new byte[VhciCtrlAbi.Connect.Size];
        WriteHeader(command, type, port, command.Length, 0);
        return command;
    }

    private static void WriteHeader(Span<byte> destination, ushort type, int port, int length, ulong id)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination[Header.Type..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[Header.Port..], checked((ushort)port));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Header.Length..], (uint)length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Header.Id..], id);
    }
}
