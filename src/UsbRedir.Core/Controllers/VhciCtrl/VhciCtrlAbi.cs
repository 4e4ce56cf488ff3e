namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>
/// Numbers of the /dev/vhci-ctrl ABI, version 1 (kernel/uapi/usbredir_vhci.h, the authority): ioctl codes, record types,
/// struct sizes and field offsets. Every multi-byte field is little-endian.
/// </summary>
internal static class VhciCtrlAbi
{
    public const int Version = 1;
    public const int MaxPorts = VirtualHostController.MaxPorts; // USBREDIR_VHCI_MAX_PORTS (VhciCtrlAbiTests compares)

    // _IOWR(0xB8, 0x00, struct usbredir_vhci_create) and _IO(0xB8, 0x01), as <asm-generic/ioctl.h> encodes them.
    public const uint IocCreate = (3u << 30) | (CreateSize << 16) | (0xB8u << 8) | 0x00;
    public const uint IocAbiVersion = (0xB8u << 8) | 0x01;

    public const int CreateSize = 96;

    /// <summary>struct usbredir_vhci_create field offsets.</summary>
    public static class CreateFields
    {
        public const int AbiVersion = 0, Ports = 4, Flags = 8, BusNumber = 12, MaxTransfer = 16, MaxIsoPackets = 20,
            MaxInflight = 24, BusId = 32, BusIdLength = 32;
    }

    /// <summary>struct usbredir_vhci_hdr: type u16, port u16, length u32, id u64.</summary>
    public static class Header
    {
        public const int Type = 0, Port = 2, Length = 4, Id = 8, Size = 16;
    }

    public const ushort EventSubmit = 0x0001;
    public const ushort EventUnlink = 0x0002;
    public const ushort EventPort = 0x0003;

    public const ushort CommandComplete = 0x0101;
    public const ushort CommandConnect = 0x0102;
    public const ushort CommandDisconnect = 0x0103;

    /// <summary>struct usbredir_vhci_event_submit (64 bytes), then iso packets (8 bytes each), then OUT data.</summary>
    public static class Submit
    {
        public const int Address = 16, Endpoint = 17, TransferType = 18, Flags = 20, Setup = 24, TransferLength = 32,
            Interval = 36, IsoPackets = 40, StartFrame = 44, DataLength = 48, Size = 64;
    }

    public const int IsoPacketSize = 8;

    /// <summary>struct usbredir_vhci_event_unlink (24 bytes): the status the kernel gave the URB back with.</summary>
    public static class Unlink
    {
        public const int Status = 16, Size = 24;
    }

    /// <summary>struct usbredir_vhci_event_port (24 bytes).</summary>
    public static class Port
    {
        public const int Event = 16, Status = 20, Change = 22, Size = 24;
    }

    public const ushort PortPowerOn = 1;
    public const ushort PortPowerOff = 2;
    public const ushort PortReset = 3;
    public const ushort PortSuspend = 4;
    public const ushort PortResume = 5;
    public const ushort PortDisable = 6;

    /// <summary>struct usbredir_vhci_cmd_complete (48 bytes), then iso results (8 bytes each), then IN data.</summary>
    public static class Complete
    {
        public const int Status = 16, ActualLength = 20, IsoPackets = 24, ErrorCount = 28, StartFrame = 32, DataLength = 36,
            Size = 48;
    }

    public const int IsoResultSize = 8;

    /// <summary>struct usbredir_vhci_cmd_connect / _disconnect (24 bytes).</summary>
    public static class Connect
    {
        public const int Speed = 16, Size = 24;
    }

    public const uint SpeedLow = 1, SpeedFull = 2, SpeedHigh = 3;

    /// <summary>USBREDIR_VHCI_READ_MIN: a read buffer this large holds any single event.</summary>
    public static int ReadBufferSize(int maxTransfer, int maxIsoPackets) =>
        Submit.Size + IsoPacketSize * maxIsoPackets + ((maxTransfer + 7) & ~7);
}
