using UsbRedir.Devices;

namespace UsbRedir.Controllers.Usbip;

/// <summary>What <see cref="UsbipCommandDecoder"/> produces from the client's byte stream.</summary>
public abstract record UsbipEvent;

/// <summary>
/// CMD_SUBMIT: run a URB. <see cref="EndpointNumber"/> has no direction bit (see <see cref="EndpointAddress"/>).
/// <see cref="OutData"/> holds transfer_buffer_length bytes for OUT transfers and is empty for IN.
/// <see cref="IsoPackets"/> is empty unless the endpoint is isochronous.
/// </summary>
public sealed record UsbipSubmitCommand(
    uint Seqnum,
    uint DeviceId,
    bool DirectionIn,
    uint EndpointNumber,
    UsbipTransferFlags TransferFlags,
    int TransferBufferLength,
    int StartFrame,
    int NumberOfPackets,
    int Interval,
    UsbSetupPacket Setup,
    ReadOnlyMemory<byte> OutData,
    IReadOnlyList<UsbipIsoPacket> IsoPackets) : UsbipEvent
{
    /// <summary>The endpoint address as USB writes it: the number with bit 7 set for IN.</summary>
    public byte EndpointAddress => (byte)(EndpointNumber | (DirectionIn ? 0x80u : 0u));

    /// <summary>True for an isochronous URB (the decoder was told the endpoint is isochronous).</summary>
    public bool IsIsochronous { get; init; }
}

/// <summary>CMD_UNLINK: cancel the URB submitted with <see cref="UnlinkSeqnum"/>; <see cref="Seqnum"/> is the unlink's own.</summary>
public sealed record UsbipUnlinkCommand(uint Seqnum, uint DeviceId, uint UnlinkSeqnum) : UsbipEvent;

/// <summary>
/// The stream broke a USB/IP rule. USB/IP has no resynchronisation (no length prefix covers a whole PDU), so this is
/// the last event: the decoder ignores everything after it and the connection must be closed, exactly as vhci_hcd
/// and the stub driver tear the connection down on a bad PDU.
/// </summary>
public sealed record UsbipMalformedStream(string Message, long StreamOffset) : UsbipEvent;
