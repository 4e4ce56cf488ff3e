using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using UsbRedir.Devices;
using UsbRedir.Devices.Local;

namespace UsbRedir.Cli.Commands;

/// <summary>
/// `usbredir list` (alias `usbredir -l`, as the original vhciclient): the USB devices plugged into this machine as a
/// tree, one line per hub port, or as JSON; `--watch` then prints each plug and unplug. The engine is
/// <see cref="UsbDeviceEnumerator"/> and <see cref="UsbDeviceWatcher"/>.
/// </summary>
internal sealed class ListCommand : ICliCommand
{
    /// <summary>The line `--watch` prints once it is watching, before any event.</summary>
    public const string WatchingLine = "watching for USB devices being plugged in and unplugged (Ctrl+C to stop)";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public string Name => "list";

    public string Summary => "list the USB devices plugged into this machine (tree, --json, --watch); also: usbredir -l";

    public string Usage => $"""
        usage: usbredir list [--json] [--watch]
               usbredir -l

        Prints every USB bus of this machine with one line per port: the device in it (id, busid, VID:PID, class,
        speed, names, drivers), nested under the hubs it is plugged into, or "unconnected port". Ids are the
        original VHCI tools' (bus, then the 0-based port on each hub: 2.0.2); busids are sysfs's (2-1.3), as usbip
        and usbipd-win name them. Both name a device in other commands.

          --json    an array of every device (root hubs and hubs included) with the properties of Get-UsbDevice
          --watch   after the list, print a line for each device plugged in or unplugged, until Ctrl+C
                    ("added ID (BUSID) VID:PID CLASS NAMES" / "removed ID (BUSID) ..."; with --json, one JSON object
                    per line: Event, Id, BusId, Device)

        Reads /sys (no root needed); {UsbDeviceEnumerator.SysfsRootVariable}=DIR reads a captured sysfs tree instead.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        var a = CliArguments.Parse(args, [], ["json", "watch"]);
        if (a.Positionals.Count > 0)
            throw new CliUsageException($"unexpected argument '{a.Positionals[0]}'");
        var enumerator = UsbDeviceEnumerator.FromEnvironment();
        var warnings = new List<string>();
        UsbDeviceWatcher? watcher = null;
        Channel<UsbDeviceEvent>? events = null;
        try
        {
            if (a.Has("watch"))
            {
                // Opened before the listing, so nothing plugged in between the two is missed.
                events = Channel.CreateUnbounded<UsbDeviceEvent>(new UnboundedChannelOptions { SingleReader = true });
                watcher = new UsbDeviceWatcher(enumerator);
                watcher.DeviceChanged += (_, e) => events.Writer.TryWrite(e);
                watcher.Start();
            }
            var devices = enumerator.GetDevices(warnings);
            // No USB at all is the answer, not a warning: one line on standard output saying what to try.
            var noUsb = a.Has("json") ? null : warnings.FirstOrDefault(w => w.StartsWith(UsbDeviceEnumerator.NoUsbWarningStart, StringComparison.Ordinal));
            foreach (var w in warnings.Where(w => w != noUsb))
                console.Error.WriteLine($"usbredir: warning: {w}");
            if (a.Has("json"))
                console.Out.WriteLine(JsonSerializer.Serialize(devices, Json));
            else if (devices.Count == 0)
                console.Out.WriteLine(noUsb ?? $"{UsbDeviceEnumerator.NoUsbWarningStart} none found; {UsbDeviceEnumerator.NoDevicesHint}.");
            else
                WriteTree(devices, console.Out);
            if (watcher is null || events is null)
                return ExitCode.Success;
            await WatchAsync(watcher, events.Reader, a.Has("json"), console, cancellationToken);
            return ExitCode.Success;
        }
        finally
        {
            watcher?.Dispose();
        }
    }

    private static async Task WatchAsync(UsbDeviceWatcher watcher, ChannelReader<UsbDeviceEvent> events, bool json,
        CliConsole console, CancellationToken cancellationToken)
    {
        console.Error.WriteLine(WatchingLine);
        console.Error.Flush();
        try
        {
            while (await events.WaitToReadAsync(cancellationToken))
            {
                while (events.TryRead(out var e))
                {
                    console.Out.WriteLine(EventLine(e, json));
                }
                console.Out.Flush();
                if (watcher.LastError is { } error && !watcher.IsRunning)
                    throw new UsbRedirException("UsbWatchFailed", UsbRedirErrorCategory.ResourceUnavailable,
                        $"Watching for USB devices stopped: {error.Message}", "Run the command again.", innerException: error);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C ends a watch normally.
        }
    }

    private static readonly JsonSerializerOptions CompactJson = new(Json) { WriteIndented = false };

    /// <summary>One `--watch` line: "added 1.0.3 (1-1.4) 0627:0001 HID ..." or, with --json, {"Event":"Added","Id":...,"Device":{...}}.</summary>
    internal static string EventLine(UsbDeviceEvent e, bool json) =>
        json ? JsonSerializer.Serialize(new { Event = e.Kind, e.Id, e.BusId, e.Device }, CompactJson) : e.ToString();

    /// <summary>The vhciclient -l style tree: a bus line, then one line per port, recursively through hubs.</summary>
    internal static void WriteTree(IReadOnlyList<UsbDeviceInfo> devices, TextWriter output)
    {
        var byPath = devices.ToDictionary(d => d.PortPath);
        foreach (var root in devices.Where(d => d.IsRootHub))
        {
            output.WriteLine($"bus {root.Bus} ({root.BusId}): {Describe(root.Controller, "unknown controller")}, USB {root.UsbVersion}, " +
                             $"{Speed(root)}, {Ports(root.PortCount)}{(root.IsVirtualController ? ", virtual" : "")}");
            WritePorts(root, byPath, output, 1);
        }
        // Devices whose bus has no root hub entry (a partial read) still show, flat.
        foreach (var orphan in devices.Where(d => !d.IsRootHub && !byPath.ContainsKey(new UsbPortPath(d.Bus))))
            output.WriteLine($"  {Line(orphan)}");
    }

    private static void WritePorts(UsbDeviceInfo hub, Dictionary<UsbPortPath, UsbDeviceInfo> byPath, TextWriter output, int depth)
    {
        var indent = new string(' ', depth * 2);
        var ports = Math.Max(hub.PortCount, byPath.Keys.Where(p => hub.PortPath.Equals(p.Parent)).Select(p => (int)p.Ports[^1]).DefaultIfEmpty(0).Max());
        for (var port = 1; port <= ports; port++)
        {
            var path = hub.PortPath.Child(port);
            if (byPath.TryGetValue(path, out var device))
            {
                output.WriteLine($"{indent}{Line(device)}");
                if (device.IsHub)
                    WritePorts(device, byPath, output, depth + 1);
            }
            else
            {
                output.WriteLine($"{indent}port {path.Id}: unconnected port");
            }
        }
    }

    private static string Line(UsbDeviceInfo d) =>
        $"port {d.Id} ({d.BusId}): {d.VidPid} {d.ClassName}, {Speed(d)}, {d.Manufacturer} {d.Product}"
        + (d.SerialNumber is { Length: > 0 } s ? $", serial {s}" : "")
        + (d.IsHub ? $", {Ports(d.PortCount)}" : "")
        + $" [{Describe(d.Driver, "no driver")}]";

    private static string Speed(UsbDeviceInfo d) => d.Speed == UsbSpeed.Unknown
        ? (d.SpeedMbps.Length > 0 ? d.SpeedMbps + " Mbit/s" : "unknown speed")
        : $"{d.Speed.ToString().ToLowerInvariant()} speed ({d.SpeedMbps} Mbit/s)";

    private static string Ports(int count) => count == 1 ? "1 port" : $"{count} ports";

    private static string Describe(string value, string empty) => value.Length > 0 ? value : empty;
}
