using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// Makes a scripted usb-host offer the loopback test device (already configured) and answer what a guest session asks
/// before it hands the device out: GET_DESCRIPTOR, get_configuration, get_alt_setting.
/// </summary>
internal static class ScriptedHostDevice
{
    /// <param name="bulkStreams">max_streams the bulk endpoints announce (0: none); ep_info carries it only when both sides have cap 0.</param>
    public static void Announce(ScriptedPeer host, uint bulkStreams = 0)
    {
        host.Send(0, new InterfaceInfoHeader(1, [0], [0xFF], [0], [0]));
        var types = Enumerable.Repeat((byte)UsbEndpointType.Invalid, 32).ToArray();
        var mps = new ushort[32];
        types[0] = types[16] = (byte)UsbEndpointType.Control;
        mps[0] = mps[16] = 64;
        types[EpInfoHeader.IndexOf(0x01)] = types[EpInfoHeader.IndexOf(0x81)] = (byte)UsbEndpointType.Bulk;
        mps[EpInfoHeader.IndexOf(0x01)] = mps[EpInfoHeader.IndexOf(0x81)] = 512;
        types[EpInfoHeader.IndexOf(0x82)] = (byte)UsbEndpointType.Interrupt;
        mps[EpInfoHeader.IndexOf(0x82)] = 8;
        var streams = new uint[32];
        streams[EpInfoHeader.IndexOf(0x01)] = streams[EpInfoHeader.IndexOf(0x81)] = bulkStreams;
        host.Send(0, new EpInfoHeader(types, new byte[32], new byte[32], mps, streams));
        host.Send(0, new DeviceConnectHeader(UsbSpeed.High, 0xFF, 0, 0, 0x1234, 0x5678, 0x0201));
    }

    /// <summary>Announces the device (<paramref name="announce"/>, or the loopback test device) and answers until <paramref name="guest"/> hands it out.</summary>
    public static async Task<RemoteUsbDevice> AttachAsync(ScriptedPeer host, UsbRedirGuestSession guest, Action<ScriptedPeer>? announce = null)
    {
        (announce ?? (h => Announce(h)))(host);
        var ready = guest.NextDeviceAsync(default);
        var deadline = DateTime.UtcNow + Support.TestDeadline.Default;
        while (!ready.IsCompleted && DateTime.UtcNow < deadline)
        {
            ScriptedPeer.Received request;
            try
            {
                request = await host.NextAsync(TimeSpan.FromMilliseconds(100));
            }
            catch (OperationCanceledException)
            {
                continue;
            }
            Answer(host, request);
        }
        return await ready.WaitAsync(TimeSpan.FromSeconds(1)) ?? throw new Xunit.Sdk.XunitException("the guest session ended");
    }

    /// <summary>Answers one request the way the loopback test device would (configuration 1, alt 0).</summary>
    public static void Answer(ScriptedPeer host, ScriptedPeer.Received request)
    {
        switch (request.Type)
        {
            case UsbRedirPacketType.ControlPacket:
                var h = request.As<ControlPacketHeader>();
                byte[] data = (h.RequestType, h.Request, h.Value >> 8) switch
                {
                    (0x80, 6, 1) => LoopbackTestDevice.Descriptor,
                    (0x80, 6, 2) => LoopbackTestDevice.Configuration,
                    _ => [],
                };
                var n = Math.Min(data.Length, h.Length);
                host.Send(request.Id, h with { Status = n > 0 ? UsbStatus.Success : UsbStatus.Stall, Length = (ushort)n }, data.AsSpan(0, n));
                break;
            case UsbRedirPacketType.GetConfiguration:
                host.Send(request.Id, new ConfigurationStatusHeader(UsbStatus.Success, 1));
                break;
            case UsbRedirPacketType.GetAltSetting:
                host.Send(request.Id, new AltSettingStatusHeader(UsbStatus.Success, request.As<GetAltSettingHeader>().Interface, 0));
                break;
            case UsbRedirPacketType.BulkPacket when (request.As<BulkPacketHeader>().Endpoint & 0x80) == 0:
                host.Send(request.Id, request.As<BulkPacketHeader>()); // OUT: all of it accepted
                break;
        }
    }
}
