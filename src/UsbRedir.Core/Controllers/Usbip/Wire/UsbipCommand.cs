namespace UsbRedir.Controllers.Usbip;

/// <summary>The <c>command</c> word of a USB/IP URB-phase PDU (usbip_common.h USBIP_CMD_* / USBIP_RET_*).</summary>
public enum UsbipCommand : uint
{
    /// <summary>Client (vhci_hcd) to server: a URB to run.</summary>
    CmdSubmit = 1,
    /// <summary>Client to server: cancel the URB with <c>unlink_seqnum</c>.</summary>
    CmdUnlink = 2,
    /// <summary>Server to client: a URB's completion.</summary>
    RetSubmit = 3,
    /// <summary>Server to client: the outcome of a CMD_UNLINK.</summary>
    RetUnlink = 4,
}
