using System.Text;
using UsbRedir.Devices.Local;
using UsbRedir.Filtering;
using UsbRedir.Transport;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The small text readers users type into: the first byte picks one (and, for endpoints, bit 2 a default port), the
/// rest (UTF-8) is its text. Endpoints
/// (<see cref="UsbRedirEndpoint"/>, host:port for connect and listen), device ids and busids (<see cref="UsbPortPath"/>:
/// both spellings must read back as the same path), the usb.ids database (<see cref="UsbIds.Parse"/>), and the device
/// and interface descriptions of the filter checker (<see cref="UsbRedirFilterDevice.Parse"/>).
/// </summary>
/// <remarks>Expected: <see cref="UsbRedirException"/> EndpointInvalid, UsbDeviceIdInvalid or FilterDeviceInvalid.</remarks>
internal static class NamesTarget
{
    public static void Run(byte[] data)
    {
        var input = new FuzzInput(data);
        var selector = input.Byte();
        var which = selector % 4;
        var text = Encoding.UTF8.GetString(input.Rest());
        try
        {
            switch (which)
            {
                case 0:
                    var endpoint = UsbRedirEndpoint.Parse(text, (selector & 4) != 0 ? 4000 : null);
                    Invariant.Check(endpoint.Port is >= 1 and <= 65535 && endpoint.Host.Length > 0, $"endpoint {endpoint}");
                    Invariant.Check(UsbRedirEndpoint.Parse(endpoint.ToString()) == endpoint, $"'{endpoint}' reads back as another endpoint");
                    _ = UsbRedirEndpoint.ParseListen(text.Contains(':') ? text : text + ":0");
                    break;
                case 1:
                    if (UsbPortPath.TryParse(text, out var path))
                    {
                        Invariant.Check(UsbPortPath.Parse(path.Id).Equals(path), $"id {path.Id} reads back as another path");
                        Invariant.Check(UsbPortPath.Parse(path.BusId).Equals(path), $"busid {path.BusId} reads back as another path");
                    }
                    else
                    {
                        _ = UsbPortPath.Parse(text);
                        Invariant.Check(false, "Parse accepted what TryParse refused");
                    }
                    break;
                case 2:
                    var ids = UsbIds.Parse(new StringReader(text));
                    Invariant.Check(ids.VendorCount >= 0 && ids.ProductCount >= 0 && ids.Problem is null, "a parse that reports a problem");
                    break;
                default:
                    var parts = text.Split(' ', 2);
                    var interfaces = parts.Length > 1
                        ? parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(UsbRedirFilterInterface.Parse).ToArray()
                        : [];
                    var device = UsbRedirFilterDevice.Parse(parts[0], interfaces);
                    var again = UsbRedirFilterDevice.Parse(device.ToString().Split(' ')[0]);
                    Invariant.Check((again.Class, again.VendorId, again.ProductId, again.Version) == (device.Class, device.VendorId, device.ProductId, device.Version),
                        $"'{device}' reads back as another device");
                    break;
            }
        }
        catch (UsbRedirException e) when (e.ErrorId is "EndpointInvalid" or "UsbDeviceIdInvalid" or UsbRedirFilterErrorIds.FilterDeviceInvalid)
        {
            Invariant.Check(!string.IsNullOrEmpty(e.RecommendedAction), $"{e.ErrorId} without a fix");
        }
    }
}
