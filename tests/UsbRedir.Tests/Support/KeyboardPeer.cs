using UsbRedir.Devices;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Protocol;
using UsbRedir.Tests.Sessions;

namespace UsbRedir.Tests.Support;

/// <summary>What a host's HID driver does with a pushed keyboard, on a <see cref="ScriptedGuest"/>: configure it and read its reports.</summary>
internal static class KeyboardPeer
{
    /// <summary>
    /// Takes the announcement, selects configuration 1, starts interrupt receiving on the keyboard's IN endpoint and
    /// returns the first key (usage) of every report that has one, until <paramref name="keyCount"/> were seen.
    /// Key-up reports and idle repeats carry no new key and are skipped.
    /// </summary>
    public static async Task<List<byte>> ConfigureAndReadKeysAsync(ScriptedGuest guest, int keyCount)
    {
        await guest.ExpectAnnouncementAsync();
        guest.Send(1, new SetConfigurationHeader(1));
        await guest.ExpectAsync(UsbRedirPacketType.InterfaceInfo);
        await guest.ExpectAsync(UsbRedirPacketType.EpInfo);
        await guest.ExpectAsync(UsbRedirPacketType.ConfigurationStatus);
        guest.Send(2, new StartInterruptReceivingHeader(BootKeyboard.InterruptInEndpoint));
        Assert.Equal(UsbStatus.Success, (await guest.ExpectAsync(UsbRedirPacketType.InterruptReceivingStatus)).As<InterruptReceivingStatusHeader>().Status);
        var keys = new List<byte>();
        while (keys.Count < keyCount)
        {
            var report = (await guest.ExpectAsync(UsbRedirPacketType.InterruptPacket)).Payload;
            if (report.Length == 8 && report[2] != 0)
                keys.Add(report[2]);
        }
        return keys;
    }
}
