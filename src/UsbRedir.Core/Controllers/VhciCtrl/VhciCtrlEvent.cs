using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;

namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>One event read from /dev/vhci-ctrl (see kernel/uapi/usbredir_vhci.h).</summary>
/// <param name="Port">The 1-based root-hub port it concerns.</param>
/// <param name="Length">The record's size in the read buffer, padding included.</param>
internal abstract record VhciCtrlEvent(int Port, int Length);

/// <summary>
/// A URB to process. Its OUT data sits at <see cref="DataOffset"/> (from the start of the record) for <see cref="DataLength"/>
/// bytes of the buffer it was parsed from.
/// </summary>
internal sealed record VhciCtrlSubmitEvent(
    int Port, int Length, ulong Id, byte Address, byte Endpoint, UrbTransferType Type, UrbFlags Flags, UsbSetupPacket Setup,
    int TransferLength, int Interval, IReadOnlyList<UsbIsoPacket> IsoPackets, int StartFrame, int DataOffset, int DataLength)
    : VhciCtrlEvent(Port, Length);

/// <summary>The kernel already gave URB <paramref name="Id"/> back with <paramref name="Status"/>; user space just drops it.</summary>
internal sealed record VhciCtrlUnlinkEvent(int Port, int Length, ulong Id, int Status) : VhciCtrlEvent(Port, Length);

/// <summary>What the hub driver did to a port (VhciCtrlAbi.Port* values), with the port's status and change words after it.</summary>
internal sealed record VhciCtrlPortEvent(int Port, int Length, ushort Event, ushort Status, ushort Change) : VhciCtrlEvent(Port, Length);

/// <summary>An event type this ABI version does not know: skipped by its length, as the ABI asks.</summary>
internal sealed record VhciCtrlUnknownEvent(int Port, int Length, ushort Type) : VhciCtrlEvent(Port, Length);
