using UsbRedir.Devices;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Protocol;
using UsbRedir.Tests.Sessions;

namespace UsbRedir.Tests.Support;

/// <summary>What a host's HID driver does with a pushed keyboard, on a <see cref="ScriptedPeer"/>: configure it and read its reports.</summary>
internal static class KeyboardPeer
{
    /// <summary>
    /// Takes the announcement, selects configuration 1, starts interrupt receiving on the keyboard's IN endpoint and
    /// returns the first key (usage) of every report that has one, until <paramref name="keyCount"/> were seen.
    /// Key-up reports and idle repeats carry no new key and are skipped.
    /// </summary>
    public static async Task<List<byte>> ConfigureAndReadKeysAsync(ScriptedPeer guest, int keyCount)
    {
        await guest.ExpectAnnouncementAsync();
        guest.Send(1, new SetConfigurationHeader(1));
        await guest.ExpectAsync(UsbRedirPacketType.InterfaceInfo);
        await guest.ExpectAsync(UsbRedirPacketType.EpInfo);
        await guest.ExpectAsync(UsbRedirPacketType.ConfigurationStatus);
        guest.Send(2, new StartInterruptReceivingHeader(BootKeyboard.InterruptInEndpoint));
        var keys = new List<byte>();
        var started = false;
        while (!started || keys.Count < keyCount)
        {
            // Reports already queued (a script typed at once) may overtake the status: their transfers complete at once.
            var packet = await guest.NextAsync();
            if (packet.Type == UsbRedirPacketType.InterruptReceivingStatus)
            {
                Assert.Equal(UsbStatus.Success, packet.As<InterruptReceivingStatusHeader>().Status);
                started = true;
                continue;
            }
            Assert.Equal(UsbRedirPacketType.InterruptPacket, packet.Type);
            if (packet.Payload.Length == 8 && packet.Payload[2] != 0)
                keys.Add(packet.Payload[2]);
        }
        return keys;
    }
}
