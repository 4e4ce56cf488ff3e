using System.Globalization;

namespace UsbRedir.Devices.Local;

/// <summary>
/// Vendor and product names from the usb.ids database (Debian package <c>usb.ids</c>, /usr/share/misc/usb.ids), used
/// for devices that carry no name strings of their own. The file is read once, on first use; a missing or unreadable
/// file gives an empty database (every lookup null) and a truncated one the names read before the cut.
/// </summary>
public sealed class UsbIds
{
    /// <summary>Where Debian's usb.ids package and usbutils put the file, in the order tried.</summary>
    public static readonly IReadOnlyList<string> DefaultPaths = ["/usr/share/misc/usb.ids", "/var/lib/usbutils/usb.ids", "/usr/share/hwdata/usb.ids"];

    private static readonly Lazy<UsbIds> SystemDatabase = new(() => Load(DefaultPaths));

    private readonly Dictionary<ushort, string> _vendors;
    private readonly Dictionary<uint, string> _products;

    private UsbIds(Dictionary<ushort, string> vendors, Dictionary<uint, string> products, string? path, string? problem)
    {
        _vendors = vendors;
        _products = products;
        Path = path;
        Problem = problem;
    }

    /// <summary>The system's database, parsed on first use (thread-safe).</summary>
    public static UsbIds System => SystemDatabase.Value;

    /// <summary>An empty database: every lookup answers null.</summary>
    public static UsbIds Empty { get; } = new([], [], null, null);

    /// <summary>The file the names came from; null when none was readable.</summary>
    public string? Path { get; }

    /// <summary>Why no names (or only part of them) could be read, with the fix; null when the file was read whole.</summary>
    public string? Problem { get; }

    public int VendorCount => _vendors.Count;

    public int ProductCount => _products.Count;

    public string? Vendor(ushort vendorId) => _vendors.GetValueOrDefault(vendorId);

    public string? Product(ushort vendorId, ushort productId) => _products.GetValueOrDefault(((uint)vendorId << 16) | productId);

    /// <summary>Reads the first of <paramref name="paths"/> that exists.</summary>
    public static UsbIds Load(IEnumerable<string> paths)
    {
        var tried = new List<string>();
        foreach (var path in paths)
        {
            if (!File.Exists(path))
            {
                tried.Add(path);
                continue;
            }
            try
            {
                using var reader = new StreamReader(path, global::System.Text.Encoding.UTF8);
                return Parse(reader, path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return new UsbIds([], [], null, $"Cannot read {path}: {e.Message}. Devices without name strings show as 'unknown'.");
            }
        }
        return new UsbIds([], [], null,
            $"No usb.ids database ({string.Join(", ", tried)}): devices without name strings show as 'unknown'. Install it with: apt-get install usb.ids");
    }

    /// <summary>
    /// Parses the usb.ids text: "vvvv  Vendor" lines, each followed by "\tpppp  Product" lines (interface lines, with
    /// two tabs, are skipped); the vendor list ends at the first other top-level entry (the "C cc  Class" lists).
    /// Lines that do not fit (a truncated last line, stray text) are skipped.
    /// </summary>
    public static UsbIds Parse(TextReader reader, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var vendors = new Dictionary<ushort, string>();
        var products = new Dictionary<uint, string>();
        int vendor = -1;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            if (line[0] == '\t')
            {
                if (vendor >= 0 && line.Length > 1 && line[1] != '\t' && TryEntry(line.AsSpan(1), out var product, out var productName))
                    products.TryAdd(((uint)vendor << 16) | product, productName);
                continue;
            }
            if (!TryEntry(line, out var id, out var name))
            {
                if (vendors.Count > 0)
                    break; // "C 00  ..." and the other lists after the vendors
                vendor = -1;
                continue;
            }
            vendor = id;
            vendors.TryAdd(id, name);
        }
        return new UsbIds(vendors, products, path, null);
    }

    // "046d  Logitech, Inc." → 0x046d, "Logitech, Inc."
    private static bool TryEntry(ReadOnlySpan<char> line, out ushort id, out string name)
    {
        name = "";
        id = 0;
        if (line.Length < 6 || line[4] != ' ' || !ushort.TryParse(line[..4], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id))
            return false;
        name = line[4..].Trim().ToString();
        return name.Length > 0;
    }
}
