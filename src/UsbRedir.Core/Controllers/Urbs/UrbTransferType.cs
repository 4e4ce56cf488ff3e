namespace UsbRedir.Controllers.Urbs;

/// <summary>The transfer type of a URB; the values are Linux's PIPE_* constants, which both backends carry.</summary>
public enum UrbTransferType : byte
{
    Isochronous = 0,
    Interrupt = 1,
    Control = 2,
    Bulk = 3,
}
