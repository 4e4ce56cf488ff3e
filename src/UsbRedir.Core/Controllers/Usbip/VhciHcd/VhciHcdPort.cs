using System.Globalization;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// One row of /sys/devices/platform/vhci_hcd.0/status[.N]: <c>hub port sta spd dev sockfd local_busid</c>, e.g.
/// <c>hs  0000 006 003 00010002 000003 3-1</c>. <see cref="Port"/> is the global port number attach/detach take.
/// </summary>
public sealed record VhciHcdPort(VhciHcdHub Hub, int Port, VhciHcdPortState State, int Speed, uint DeviceId, int SocketFd, string LocalBusId)
{
    public bool IsFree => State == VhciHcdPortState.Free;

    /// <summary>
    /// Parses a whole status file. The header line and anything not shaped like a port row are skipped (kernels
    /// before 4.14 printed a socket pointer and no hub column; such rows are not recognised and count as no ports).
    /// </summary>
    public static List<VhciHcdPort> ParseStatus(string text)
    {
        var ports = new List<VhciHcdPort>();
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 7 || (f[0] != "hs" && f[0] != "ss")) continue;
            if (!int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || !int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var state)
                || !int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var speed)
                || !uint.TryParse(f[4], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var devid)
                || !long.TryParse(f[5], NumberStyles.None, CultureInfo.InvariantCulture, out var sockfd))
                continue;
            ports.Add(new VhciHcdPort(f[0] == "hs" ? VhciHcdHub.HighSpeed : VhciHcdHub.SuperSpeed, port,
                (VhciHcdPortState)state, speed, devid, (int)Math.Min(sockfd, int.MaxValue), f[6]));
        }
        return ports;
    }
}
