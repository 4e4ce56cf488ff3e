using UsbRedir.Devices;

namespace UsbRedir.Controllers.Urbs;

/// <summary>
/// A USB request block as a backend received it from the kernel, in backend-neutral form. The buffer belongs to the
/// backend: for OUT transfers it holds exactly the data to send, for IN transfers it is the space to fill (the URB's
/// transfer length), and the backend sends back at most <see cref="UrbResult.ActualLength"/> bytes of it.
/// </summary>
public sealed class Urb
{
    /// <summary>The backend's id of this URB (for logs and unlink matching; the router does not interpret it).</summary>
    public required ulong Id { get; init; }

    /// <summary>The endpoint number with bit 7 set for IN (for control URBs: the data stage's direction).</summary>
    public required byte Endpoint { get; init; }

    public required UrbTransferType Type { get; init; }

    /// <summary>Control URBs only: the SETUP packet.</summary>
    public UsbSetupPacket Setup { get; init; }

    /// <summary>OUT: the data to send. IN: the buffer to fill, the URB's full transfer length.</summary>
    public required Memory<byte> Buffer { get; init; }

    public UrbFlags Flags { get; init; }

    /// <summary>Interrupt and isochronous URBs: the polling interval in (micro)frames, as the kernel gave it.</summary>
    public int Interval { get; init; }

    /// <summary>Isochronous URBs only: the packets, in order.</summary>
    public IReadOnlyList<UsbIsoPacket> IsoPackets { get; init; } = [];

    /// <summary>True for device-to-host transfers.</summary>
    public bool IsIn => (Endpoint & 0x80) != 0;

    public override string ToString() =>
        $"URB {Id} {Type} ep 0x{Endpoint:x2} len {Buffer.Length}{(Type == UrbTransferType.Control ? $" ({Setup})" : "")}";
}
