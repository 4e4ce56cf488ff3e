namespace UsbRedir.Controllers.Urbs;

/// <summary>The URB transfer flags that matter to a device; the values are Linux's URB_* bits, which both backends carry.</summary>
[Flags]
public enum UrbFlags : uint
{
    None = 0,

    /// <summary>A short IN transfer is an error (the URB completes with <see cref="UrbStatus.ShortPacket"/>).</summary>
    ShortNotOk = 0x0001,

    /// <summary>Isochronous: start at the next possible frame instead of the given one.</summary>
    IsoAsap = 0x0002,

    /// <summary>An OUT transfer whose length is a multiple of the packet size ends with a zero-length packet.</summary>
    ZeroPacket = 0x0040,
}
