namespace UsbRedir.Protocol;

/// <summary>
/// usbredir packet type numbers (the <c>type</c> field of the main header). 0–27 are control packets,
/// 100–104 data packets; every other number is unknown and a parse error. Values outside the enum can
/// appear in error events, carrying the raw number the peer sent.
/// </summary>
public enum UsbRedirPacketType : uint
{
    /// <summary>Version string and capability words; always the first packet in each direction.</summary>
    Hello = 0,
    /// <summary>usb-host → usb-guest: a device is attached (speed, class, ids).</summary>
    DeviceConnect = 1,
    /// <summary>usb-host → usb-guest: the device went away.</summary>
    DeviceDisconnect = 2,
    /// <summary>usb-guest → usb-host: reset the device (never answered).</summary>
    Reset = 3,
    /// <summary>usb-host → usb-guest: the interfaces of the active configuration.</summary>
    InterfaceInfo = 4,
    /// <summary>usb-host → usb-guest: the endpoint table.</summary>
    EpInfo = 5,
    /// <summary>usb-guest → usb-host: select a configuration.</summary>
    SetConfiguration = 6,
    /// <summary>usb-guest → usb-host: ask for the active configuration.</summary>
    GetConfiguration = 7,
    /// <summary>usb-host → usb-guest: reply to set/get configuration.</summary>
    ConfigurationStatus = 8,
    /// <summary>usb-guest → usb-host: select an alternate setting.</summary>
    SetAltSetting = 9,
    /// <summary>usb-guest → usb-host: ask for an interface's alternate setting.</summary>
    GetAltSetting = 10,
    /// <summary>usb-host → usb-guest: reply to set/get alt setting.</summary>
    AltSettingStatus = 11,
    /// <summary>usb-guest → usb-host: start an isochronous stream.</summary>
    StartIsoStream = 12,
    /// <summary>usb-guest → usb-host: stop an isochronous stream.</summary>
    StopIsoStream = 13,
    /// <summary>usb-host → usb-guest: iso stream status (reply or unsolicited).</summary>
    IsoStreamStatus = 14,
    /// <summary>usb-guest → usb-host: start polling an interrupt IN endpoint.</summary>
    StartInterruptReceiving = 15,
    /// <summary>usb-guest → usb-host: stop polling an interrupt IN endpoint.</summary>
    StopInterruptReceiving = 16,
    /// <summary>usb-host → usb-guest: interrupt receiving status.</summary>
    InterruptReceivingStatus = 17,
    /// <summary>usb-guest → usb-host: allocate USB 3 bulk streams.</summary>
    AllocBulkStreams = 18,
    /// <summary>usb-guest → usb-host: free USB 3 bulk streams.</summary>
    FreeBulkStreams = 19,
    /// <summary>usb-host → usb-guest: bulk streams status.</summary>
    BulkStreamsStatus = 20,
    /// <summary>usb-guest → usb-host: cancel the data packet whose id is this packet's id.</summary>
    CancelDataPacket = 21,
    /// <summary>usb-guest → usb-host: the guest rejects the device (needs cap Filter).</summary>
    FilterReject = 22,
    /// <summary>Either direction: a NUL-terminated filter string (needs cap Filter).</summary>
    FilterFilter = 23,
    /// <summary>usb-guest → usb-host: acknowledges a device_disconnect (needs cap DeviceDisconnectAck).</summary>
    DeviceDisconnectAck = 24,
    /// <summary>usb-guest → usb-host: start buffered bulk input (needs cap BulkReceiving).</summary>
    StartBulkReceiving = 25,
    /// <summary>usb-guest → usb-host: stop buffered bulk input.</summary>
    StopBulkReceiving = 26,
    /// <summary>usb-host → usb-guest: buffered bulk input status.</summary>
    BulkReceivingStatus = 27,
    /// <summary>Either direction: a control transfer request or its completion.</summary>
    ControlPacket = 100,
    /// <summary>Either direction: a bulk transfer request or its completion.</summary>
    BulkPacket = 101,
    /// <summary>Isochronous data (OUT from the guest, IN from the host).</summary>
    IsoPacket = 102,
    /// <summary>Interrupt data (OUT request/completion, or IN data from the host).</summary>
    InterruptPacket = 103,
    /// <summary>usb-host → usb-guest: buffered bulk input data.</summary>
    BufferedBulkPacket = 104,
}
