using System.Globalization;

namespace UsbRedir.Devices.Local;

/// <summary>
/// Where a USB device is plugged in: its bus and the chain of hub ports from the root hub down. The one place that
/// converts between the two spellings users meet:
/// <list type="bullet">
/// <item><see cref="Id"/>, the original VHCI tools' form: bus, then the <b>0-based</b> index of each port
///   (<c>2.0</c> = bus 2, first root-hub port; <c>2.0.2</c> = third port of the hub in that port);</item>
/// <item><see cref="BusId"/>, the Linux sysfs name that usbip and usbipd-win use: bus, dash, the <b>1-based</b> ports
///   joined by dots (<c>2-1</c>, <c>2-1.3</c>).</item>
/// </list>
/// A bare bus (<c>2</c>, no ports) names the root hub of that bus (sysfs <c>usb2</c>).
/// </summary>
public sealed class UsbPortPath : IEquatable<UsbPortPath>
{
    /// <summary>USB allows at most 7 tiers below the root hub, hence 7 ports in a chain (USB 3: 5 hubs + device; Linux takes 7).</summary>
    public const int MaxDepth = 7;

    private readonly byte[] _ports;

    public UsbPortPath(int bus, params int[] ports)
    {
        if (bus is < 1 or > 255)
            throw new ArgumentOutOfRangeException(nameof(bus), bus, "A USB bus number is 1..255.");
        ArgumentNullException.ThrowIfNull(ports);
        if (ports.Length > MaxDepth)
            throw new ArgumentOutOfRangeException(nameof(ports), ports.Length, $"A port chain has at most {MaxDepth} ports.");
        foreach (var p in ports)
            if (p is < 1 or > 255)
                throw new ArgumentOutOfRangeException(nameof(ports), p, "A hub port number is 1..255 (1-based, as in sysfs).");
        Bus = bus;
        _ports = ports.Select(p => (byte)p).ToArray();
    }

    public int Bus { get; }

    /// <summary>The 1-based port numbers from the root hub down, as sysfs and libusb_get_port_numbers give them.</summary>
    public IReadOnlyList<byte> Ports => _ports;

    /// <summary>True for the root hub itself (a bus with no ports).</summary>
    public bool IsRootHub => _ports.Length == 0;

    /// <summary>The hub this device is plugged into (the root hub for a device in a root-hub port); null for a root hub.</summary>
    public UsbPortPath? Parent => IsRootHub ? null : new UsbPortPath(Bus, _ports[..^1].Select(p => (int)p).ToArray());

    /// <summary>The original tools' id: "2.0.2" (0-based ports); "2" for a root hub.</summary>
    public string Id => IsRootHub ? Bus.ToString(CultureInfo.InvariantCulture)
        : $"{Bus}.{string.Join('.', _ports.Select(p => (p - 1).ToString(CultureInfo.InvariantCulture)))}";

    /// <summary>The sysfs name: "2-1.3"; "usb2" for a root hub.</summary>
    public string BusId => IsRootHub ? $"usb{Bus}"
        : $"{Bus}-{string.Join('.', _ports.Select(p => p.ToString(CultureInfo.InvariantCulture)))}";

    /// <summary>The device in <paramref name="port"/> (1-based) of this hub.</summary>
    public UsbPortPath Child(int port) => new(Bus, [.. _ports.Select(p => (int)p), port]);

    /// <summary>Parses an id ("2.0", "2.0.2", "2"), a busid ("2-1", "2-1.3") or a root hub's sysfs name ("usb2").</summary>
    /// <exception cref="UsbRedirException">ErrorId "UsbDeviceIdInvalid", naming both accepted forms.</exception>
    public static UsbPortPath Parse(string text) =>
        TryParse(text, out var path) ? path : throw new UsbRedirException("UsbDeviceIdInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"'{text}' is not a USB device id or busid.",
            "Give an id such as 2.0 (bus 2, first root-hub port, 0-based; 2.0.2 goes through a hub) or a busid such as 2-1 " +
            "(as sysfs, usbip and usbipd-win name it); Get-UsbDevice or 'usbredir list' shows both.", text);

    public static bool TryParse(string? text, out UsbPortPath path)
    {
        path = null!;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        text = text.Trim();
        if (text.StartsWith("usb", StringComparison.Ordinal))
        {
            if (!TryNumber(text.AsSpan(3), 1, out var rootBus))
                return false;
            path = new UsbPortPath(rootBus);
            return true;
        }
        var dash = text.IndexOf('-');
        int bus;
        string[] parts;
        int offset; // added to each written port to make it 1-based
        if (dash >= 0)
        {
            if (!TryNumber(text.AsSpan(0, dash), 1, out bus))
                return false;
            parts = text[(dash + 1)..].Split('.');
            offset = 0;
        }
        else
        {
            var all = text.Split('.');
            if (!TryNumber(all[0], 1, out bus))
                return false;
            parts = all[1..];
            offset = 1;
        }
        if (parts.Length > MaxDepth)
            return false;
        var ports = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryNumber(parts[i], 1 - offset, out var p) || p + offset > 255)
                return false;
            ports[i] = p + offset;
        }
        path = new UsbPortPath(bus, ports);
        return true;
    }

    // Plain decimal digits only (no sign, no spaces, no hex), at least min, at most 255.
    private static bool TryNumber(ReadOnlySpan<char> s, int min, out int value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 3)
            return false;
        foreach (var c in s)
            if (c is < '0' or > '9')
                return false;
        value = int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
        return value >= min && value <= 255;
    }

    public bool Equals(UsbPortPath? other) => other is not null && Bus == other.Bus && _ports.AsSpan().SequenceEqual(other._ports);

    public override bool Equals(object? obj) => Equals(obj as UsbPortPath);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Bus);
        h.AddBytes(_ports);
        return h.ToHashCode();
    }

    public override string ToString() => Id;
}
