using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using UsbRedir.Devices.Software;
using System.Text.RegularExpressions;

namespace UsbRedir.Devices.Local;

/// <summary>
/// Lists the USB devices plugged into this machine by reading Linux sysfs (<c>/sys/bus/usb/devices</c>; no root
/// needed), and finds one by id, busid, VID:PID or serial number. Bad input never throws from
/// <see cref="GetDevices"/>: a device that goes away while being read, an unreadable attribute, an odd value or a
/// machine with no USB at all give an empty or partial list and a warning naming the cause.
/// </summary>
/// <remarks>
/// The sysfs root can be moved (tests and the benchmark read captured trees under tests/fixtures/sysfs): pass it to
/// the constructor, or set the <see cref="SysfsRootVariable"/> environment variable for <see cref="FromEnvironment"/>,
/// which both front ends use.
/// </remarks>
public sealed partial class UsbDeviceEnumerator
{
    /// <summary>Environment variable naming another sysfs root for <see cref="FromEnvironment"/> (a captured tree holding bus/usb/devices).</summary>
    public const string SysfsRootVariable = "USBREDIR_SYSFS_ROOT";

    /// <summary>What to try when there is no USB device at all, for both front ends' one-line message.</summary>
    public const string NoDevicesHint =
        "plug a device in, load the host controller's driver (modprobe xhci_pci), or give a VM a USB controller (qemu -device qemu-xhci)";

    /// <summary>How the warning for a machine without any USB bus starts (front ends print it as their one line).</summary>
    public const string NoUsbWarningStart = "No USB devices:";

    private readonly Func<UsbIds> _ids;

    /// <param name="sysfsRoot">The directory that holds bus/usb/devices: "/sys", or a captured tree.</param>
    /// <param name="ids">Names for devices without strings; null reads the system's usb.ids on first need.</param>
    public UsbDeviceEnumerator(string sysfsRoot = "/sys", UsbIds? ids = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sysfsRoot);
        SysfsRoot = sysfsRoot;
        _ids = ids is null ? () => UsbIds.System : () => ids;
    }

    /// <summary>Reads /sys, or the root named by <see cref="SysfsRootVariable"/> when it is set.</summary>
    public static UsbDeviceEnumerator FromEnvironment() =>
        new(Environment.GetEnvironmentVariable(SysfsRootVariable) is { Length: > 0 } root ? root : "/sys");

    public string SysfsRoot { get; }

    /// <summary>sysfs's bus/usb/devices under <see cref="SysfsRoot"/>: one entry per device ("2-1.3", "usb2") and per interface ("2-1.3:1.0").</summary>
    public string DevicesDirectory => System.IO.Path.Combine(SysfsRoot, "bus", "usb", "devices");

    /// <summary>True for the drivers of the virtual host controllers devices are imported into: usbip's vhci_hcd and usbredir_vhci.</summary>
    public static bool IsVirtualControllerDriver(string? driver) => driver is "vhci_hcd" or "usbredir_vhci";

    /// <summary>
    /// Every USB device, root hubs included, in tree order (bus, then ports). Problems go to
    /// <paramref name="warnings"/> (one sentence each, with the fix where there is one) and leave the device out or
    /// the attribute at its default.
    /// </summary>
    public IReadOnlyList<UsbDeviceInfo> GetDevices(ICollection<string>? warnings = null)
    {
        warnings ??= new List<string>();
        var dir = DevicesDirectory;
        string[] names;
        try
        {
            names = Directory.GetFileSystemEntries(dir).Select(e => System.IO.Path.GetFileName(e)).ToArray();
        }
        catch (DirectoryNotFoundException)
        {
            warnings.Add($"{NoUsbWarningStart} this machine has no USB bus ({dir} does not exist); {NoDevicesHint}.");
            return [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warnings.Add($"Cannot list USB devices: {dir}: {e.Message}. Check that sysfs is mounted and readable.");
            return [];
        }

        var paths = new Dictionary<string, UsbPortPath>(StringComparer.Ordinal);
        var interfaces = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var colon = name.IndexOf(':');
            if (colon > 0)
            {
                var owner = DeviceOfInterface(name[..colon]);
                if (!interfaces.TryGetValue(owner, out var list))
                    interfaces[owner] = list = [];
                list.Add(name);
            }
            else if (UsbPortPath.TryParse(name, out var path) && path.BusId == name)
            {
                paths[name] = path;
            }
            else
            {
                warnings.Add($"Skipped '{name}' in {dir}: not a USB device name (busid such as 2-1.3, or usbN).");
            }
        }

        var occupied = new Dictionary<UsbPortPath, List<int>>();
        foreach (var path in paths.Values)
            if (path.Parent is { } parent)
            {
                if (!occupied.TryGetValue(parent, out var ports))
                    occupied[parent] = ports = [];
                ports.Add(path.Ports[^1]);
            }

        var controllers = new Dictionary<int, string>();
        var devices = new List<UsbDeviceInfo>(paths.Count);
        foreach (var (name, path) in paths)
        {
            var device = Read(dir, name, path, interfaces.GetValueOrDefault(name), occupied.GetValueOrDefault(path), controllers, warnings);
            if (device is not null)
                devices.Add(device);
        }
        devices.Sort(TreeOrder);
        return devices;
    }

    /// <summary>One device by its place, read now; null (and a warning) when nothing is plugged in there.</summary>
    public UsbDeviceInfo? GetDevice(UsbPortPath path, ICollection<string>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        warnings ??= new List<string>();
        var dir = DevicesDirectory;
        var name = path.BusId;
        if (!Directory.Exists(System.IO.Path.Combine(dir, name)))
        {
            warnings.Add($"No USB device is plugged in at {path.Id} ({name}).");
            return null;
        }
        List<string> ifaces = [];
        List<int> occupied = [];
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
            {
                var entryName = System.IO.Path.GetFileName(entry);
                if (entryName.StartsWith(InterfacePrefix(path), StringComparison.Ordinal))
                    ifaces.Add(entryName);
                else if (UsbPortPath.TryParse(entryName, out var other) && other.BusId == entryName && path.Equals(other.Parent))
                    occupied.Add(other.Ports[^1]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warnings.Add($"Cannot list USB devices: {dir}: {e.Message}. Check that sysfs is mounted and readable.");
            return null;
        }
        return Read(dir, name, path, ifaces, occupied, [], warnings);
    }

    /// <summary>Finds one device (root hubs included) by <paramref name="selector"/>; see <see cref="Find(IReadOnlyList{UsbDeviceInfo}, string)"/>.</summary>
    public UsbDeviceInfo Find(string selector, ICollection<string>? warnings = null) => Find(GetDevices(warnings), selector);

    /// <summary>
    /// Finds one device in <paramref name="devices"/> by an id ("2.0.2"), a busid ("2-1.3", "usb2"), "VID:PID" in hex
    /// ("0781:5567") or a serial number (exact), tried in that order.
    /// </summary>
    /// <exception cref="UsbRedirException">UsbDeviceNotFound (ObjectNotFound) when no device matches; UsbDeviceAmbiguous
    /// (InvalidArgument) when a VID:PID or serial number matches more than one, naming their ids; UsbDeviceSelectorEmpty.</exception>
    public static UsbDeviceInfo Find(IReadOnlyList<UsbDeviceInfo> devices, string selector)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (string.IsNullOrWhiteSpace(selector))
            throw new UsbRedirException("UsbDeviceSelectorEmpty", UsbRedirErrorCategory.InvalidArgument,
                "No USB device was named.", SelectorHelp, selector);
        selector = selector.Trim();
        string kind;
        List<UsbDeviceInfo> matches;
        if (VidPidPattern().IsMatch(selector))
        {
            kind = "with VID:PID";
            var vid = ushort.Parse(selector.AsSpan(0, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            var pid = ushort.Parse(selector.AsSpan(5, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            matches = devices.Where(d => d.VendorId == vid && d.ProductId == pid).ToList();
        }
        else if (UsbPortPath.TryParse(selector, out var path))
        {
            kind = "at";
            matches = devices.Where(d => d.PortPath.Equals(path)).ToList();
        }
        else
        {
            kind = "with serial number";
            matches = devices.Where(d => d.SerialNumber == selector).ToList();
        }
        if (matches.Count == 1)
            return matches[0];
        if (matches.Count == 0)
            throw new UsbRedirException("UsbDeviceNotFound", UsbRedirErrorCategory.ObjectNotFound,
                $"No USB device {kind} '{selector}' is plugged in" + (devices.Count == 0 ? " (this machine lists no USB devices at all)." : "."),
                devices.Count == 0 ? $"To list devices, {NoDevicesHint}." : SelectorHelp, selector);
        throw new UsbRedirException("UsbDeviceAmbiguous", UsbRedirErrorCategory.InvalidArgument,
            $"{matches.Count} USB devices {kind} '{selector}' are plugged in: " +
            string.Join(", ", matches.Select(d => $"{d.Id} ({d.BusId}{(d.SerialNumber is { } s ? ", serial " + s : "")})")) + ".",
            "Name one of them by its id or busid (or its serial number when they differ).", selector);
    }

    private const string SelectorHelp =
        "Name a device by id (2.0.2), busid (2-1.3), VID:PID in hex (0781:5567) or serial number; Get-UsbDevice or 'usbredir list' shows them.";

    [GeneratedRegex("^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$")]
    private static partial Regex VidPidPattern();

    // sysfs names a root hub "usb2" but its interface "2-0:1.0".
    private static string DeviceOfInterface(string owner) =>
        owner.EndsWith("-0", StringComparison.Ordinal) ? "usb" + owner[..^2] : owner;

    private static string InterfacePrefix(UsbPortPath path) => (path.IsRootHub ? $"{path.Bus}-0" : path.BusId) + ":";

    /// <summary>Tree order: bus, then port by port, a hub before what is plugged into it.</summary>
    internal static int TreeOrder(UsbDeviceInfo x, UsbDeviceInfo y)
    {
        var c = x.Bus.CompareTo(y.Bus);
        if (c != 0)
            return c;
        var xp = x.PortPath.Ports;
        var yp = y.PortPath.Ports;
        for (var i = 0; i < Math.Min(xp.Count, yp.Count); i++)
            if ((c = xp[i].CompareTo(yp[i])) != 0)
                return c;
        return xp.Count.CompareTo(yp.Count);
    }

    private UsbDeviceInfo? Read(string devicesDir, string name, UsbPortPath path, List<string>? interfaceNames,
        List<int>? occupiedPorts, Dictionary<int, string> controllers, ICollection<string> warnings)
    {
        var dir = System.IO.Path.Combine(devicesDir, name);
        var attrs = new Attributes(dir, name, warnings);
        var configuration = attrs.Decimal("bConfigurationValue", optional: true) ?? 0;
        // The descriptors file (device descriptor, then every configuration descriptor) gives in one read what would
        // otherwise take seven attribute files per device and five per interface.
        var buffer = ArrayPool<byte>.Shared.Rent(DescriptorsMax);
        ushort? vendor, product;
        ushort bcdDevice, bcdUsb;
        byte deviceClass, deviceSubClass, deviceProtocol;
        var ifaces = new List<UsbInterfaceInfo>();
        try
        {
            var length = attrs.Bytes("descriptors", buffer);
            var device = buffer.AsSpan(0, length);
            if (device.Length >= 18 && device[0] >= 18 && device[1] == UsbDescriptorTypes.Device)
            {
                vendor = BinaryPrimitives.ReadUInt16LittleEndian(device[8..]);
                product = BinaryPrimitives.ReadUInt16LittleEndian(device[10..]);
                bcdDevice = BinaryPrimitives.ReadUInt16LittleEndian(device[12..]);
                bcdUsb = BinaryPrimitives.ReadUInt16LittleEndian(device[2..]);
                (deviceClass, deviceSubClass, deviceProtocol) = (device[4], device[5], device[6]);
                // A bLength past the end of the file (found by fuzzing) leaves no configuration to read, not an exception.
                if (configuration != 0)
                    AddInterfaces(device[Math.Min(device[0], device.Length)..], (byte)configuration, path, devicesDir, interfaceNames, ifaces);
            }
            else
            {
                // No descriptors file (or an odd one): the same values from their attribute files.
                vendor = attrs.Hex16("idVendor");
                product = attrs.Hex16("idProduct");
                bcdDevice = attrs.Hex16("bcdDevice") ?? 0;
                bcdUsb = ParseBcd(attrs.Text("version"));
                deviceClass = attrs.Hex8("bDeviceClass") ?? 0;
                deviceSubClass = attrs.Hex8("bDeviceSubClass") ?? 0;
                deviceProtocol = attrs.Hex8("bDeviceProtocol") ?? 0;
                if (configuration != 0)
                    AddInterfacesFromAttributes((byte)configuration, path, devicesDir, interfaceNames, ifaces, warnings);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (vendor is null || product is null)
        {
            warnings.Add(Directory.Exists(dir)
                ? $"Skipped USB device {path.Id} ({name}): neither its descriptors nor its idVendor/idProduct could be read."
                : $"USB device {path.Id} ({name}) went away while it was being read (unplugged).");
            return null;
        }
        var manufacturer = attrs.Text("manufacturer");
        var productName = attrs.Text("product");
        var serial = attrs.Text("serial");
        string? idsVendor = null, idsProduct = null;
        if (manufacturer is null || productName is null)
        {
            var ids = _ids();
            idsVendor = ids.Vendor(vendor.Value);
            idsProduct = ids.Product(vendor.Value, product.Value);
        }

        var effective = deviceClass is UsbClassCodes.PerInterface or UsbClassCodes.Miscellaneous && ifaces.Count > 0
            ? ifaces[0].Class : deviceClass;
        var maxChild = deviceClass == UsbClassCodes.Hub ? attrs.Decimal("maxchild") ?? 0 : 0;
        var speedText = attrs.Text("speed") ?? "";
        return new UsbDeviceInfo(path)
        {
            Address = attrs.Decimal("devnum") ?? 0,
            VendorId = vendor.Value,
            ProductId = product.Value,
            Version = bcdDevice,
            UsbVersion = FormatBcd(bcdUsb),
            SpeedMbps = speedText,
            Speed = speedText switch
            {
                "1.5" => UsbSpeed.Low,
                "12" => UsbSpeed.Full,
                "480" => UsbSpeed.High,
                "5000" or "10000" or "20000" => UsbSpeed.Super,
                _ => UsbSpeed.Unknown,
            },
            Manufacturer = manufacturer ?? idsVendor ?? UsbDeviceInfo.UnknownName,
            Product = productName ?? idsProduct ?? UsbDeviceInfo.UnknownName,
            SerialNumber = serial,
            HasStrings = manufacturer is not null || productName is not null,
            Class = effective,
            DeviceClass = deviceClass,
            DeviceSubClass = deviceSubClass,
            DeviceProtocol = deviceProtocol,
            Configuration = (byte)configuration,
            Interfaces = ifaces,
            PortCount = maxChild,
            FreePorts = Enumerable.Range(1, maxChild).Where(p => occupiedPorts is null || !occupiedPorts.Contains(p)).ToArray(),
            Controller = ControllerDriver(devicesDir, path.Bus, controllers),
        };
    }

    /// <summary>sysfs's descriptors file holds at most the device descriptor and 8 configurations of up to 64 KiB; real ones are far smaller.</summary>
    private const int DescriptorsMax = 64 * 1024;

    // The interfaces of configuration `configuration` (altsetting 0 of each, as usbredirhost's filter check reads
    // them) that sysfs lists, with their drivers. The configuration descriptors follow one another, each
    // wTotalLength long; a corrupt length ends the search (UsbDescriptorWalk's rule).
    private static void AddInterfaces(ReadOnlySpan<byte> configs, byte configuration, UsbPortPath path, string devicesDir,
        List<string>? interfaceNames, List<UsbInterfaceInfo> result)
    {
        while (configs.Length >= 9 && configs[1] == UsbDescriptorTypes.Configuration)
        {
            var total = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(configs[2..]), configs.Length);
            if (total < 9)
                return;
            if (configs[5] == configuration)
            {
                var prefix = $"{InterfacePrefix(path)}{configuration}.";
                foreach (var d in new UsbDescriptorWalk(configs[..total]))
                {
                    if (d[1] != UsbDescriptorTypes.Interface || d.Length < 9 || d[3] != 0)
                        continue;
                    var number = d[2];
                    var busId = prefix + number.ToString(CultureInfo.InvariantCulture);
                    if (interfaceNames is null || !interfaceNames.Contains(busId) || result.Any(i => i.Number == number))
                        continue;
                    result.Add(new UsbInterfaceInfo(busId, d[2], d[5], d[6], d[7], LinkName(System.IO.Path.Combine(devicesDir, busId, "driver"))));
                }
                result.Sort((a, b) => a.Number.CompareTo(b.Number));
                return;
            }
            configs = configs[total..];
        }
    }

    private static void AddInterfacesFromAttributes(byte configuration, UsbPortPath path, string devicesDir,
        List<string>? interfaceNames, List<UsbInterfaceInfo> result, ICollection<string> warnings)
    {
        var prefix = $"{InterfacePrefix(path)}{configuration}.";
        foreach (var ifName in interfaceNames ?? [])
        {
            if (!ifName.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            var ia = new Attributes(System.IO.Path.Combine(devicesDir, ifName), ifName, warnings);
            if (ia.Hex8("bInterfaceNumber") is not { } number)
                continue; // gone with its device, or unreadable (warned)
            result.Add(new UsbInterfaceInfo(ifName, number, ia.Hex8("bInterfaceClass") ?? 0, ia.Hex8("bInterfaceSubClass") ?? 0,
                ia.Hex8("bInterfaceProtocol") ?? 0, LinkName(System.IO.Path.Combine(devicesDir, ifName, "driver"))));
        }
        result.Sort((a, b) => a.Number.CompareTo(b.Number));
    }

    // " 2.00" (sysfs's version, "%2x.%02x") <-> 0x0200
    private static ushort ParseBcd(string? text)
    {
        var parts = (text ?? "").Trim().Split('.');
        return parts.Length == 2 && byte.TryParse(parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var major)
            && byte.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var minor)
            ? (ushort)(major << 8 | minor) : (ushort)0;
    }

    private static string FormatBcd(ushort bcd) => $"{bcd >> 8:x}.{bcd & 0xff:x2}";

    /// <summary>The last part of a symlink's target (a driver's name); null when there is no link.</summary>
    private static string? LinkName(string link)
    {
        try
        {
            return new FileInfo(link).LinkTarget is { } target ? System.IO.Path.GetFileName(target) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // The driver of the device the root hub usbN hangs under (its parent in /sys/devices): xhci_hcd, vhci_hcd, ...
    private static string ControllerDriver(string devicesDir, int bus, Dictionary<int, string> cache)
    {
        if (cache.TryGetValue(bus, out var known))
            return known;
        var driver = "";
        try
        {
            var root = new DirectoryInfo(System.IO.Path.Combine(devicesDir, $"usb{bus}"));
            var real = root.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? root.FullName;
            var link = new FileInfo(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(real) ?? "", "driver"));
            if (link.LinkTarget is { } target)
                driver = System.IO.Path.GetFileName(target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left blank: the controller's driver is informational.
        }
        cache[bus] = driver;
        return driver;
    }

    /// <summary>Reads one sysfs directory's attributes: small files, read whole with one system call each.</summary>
    private readonly struct Attributes(string dir, string name, ICollection<string> warnings)
    {
        /// <summary>The attribute's text without its trailing newline; null when it does not exist (or is unreadable: warned).</summary>
        public string? Text(string attribute)
        {
            var file = System.IO.Path.Combine(dir, attribute);
            try
            {
                using var handle = File.OpenHandle(file);
                Span<byte> buffer = stackalloc byte[4096];
                var n = RandomAccess.Read(handle, buffer, 0);
                var text = buffer[..n];
                if (text.Length > 0 && text[^1] == (byte)'\n')
                    text = text[..^1];
                return Encoding.UTF8.GetString(text);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                warnings.Add($"Cannot read {attribute} of USB {name}: {e.Message}.");
                return null;
            }
        }

        public ushort? Hex16(string attribute) => (ushort?)Number(attribute, NumberStyles.AllowHexSpecifier, 0xffff, optional: false);

        public byte? Hex8(string attribute) => (byte?)Number(attribute, NumberStyles.AllowHexSpecifier, 0xff, optional: false);

        public int? Decimal(string attribute, bool optional = false) => Number(attribute, NumberStyles.AllowLeadingWhite, int.MaxValue, optional);

        /// <summary>A binary attribute read into <paramref name="buffer"/>; its length, 0 when it does not exist (or is unreadable: warned).</summary>
        public int Bytes(string attribute, byte[] buffer)
        {
            try
            {
                using var handle = File.OpenHandle(System.IO.Path.Combine(dir, attribute));
                var total = 0;
                int n;
                while (total < buffer.Length && (n = RandomAccess.Read(handle, buffer.AsSpan(total), total)) > 0)
                    total += n;
                return total;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                warnings.Add($"Cannot read {attribute} of USB {name}: {e.Message}.");
                return 0;
            }
        }

        // optional: an empty value is normal (bConfigurationValue of an unconfigured device) and means null silently.
        private int? Number(string attribute, NumberStyles style, int max, bool optional)
        {
            var text = Text(attribute);
            if (text is null || (optional && text.Trim().Length == 0))
                return null;
            if (int.TryParse(text.Trim(), style, CultureInfo.InvariantCulture, out var value) && value >= 0 && value <= max)
                return value;
            warnings.Add($"USB {name}: {attribute} is '{text}', not a {(style == NumberStyles.AllowHexSpecifier ? "hex " : "")}number up to {max}; ignored.");
            return null;
        }
    }
}
