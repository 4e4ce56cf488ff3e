using UsbRedir;
using UsbRedir.Controllers;
using UsbRedir.Controllers.Usbip;
using UsbRedir.Controllers.VhciCtrl;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Sessions;

// Reads one command per line from stdin and answers each with one line on stdout ("ok ..." or "error ..."):
//   plug disk IMAGE | plug keyboard | unplug disk|keyboard | type TEXT | backend usbip|vhcictrl | ports | quit
// "backend" switches to (creating if needed) a controller of that backend; the first one comes from args[0].
// Diagnostics go to stderr. Exits 0 after "quit" or end of input, 1 when the first controller could not be created.
var log = new SessionLog(e => Console.Error.WriteLine($"vmplug: {e}"));
var factory = new VirtualHostControllerFactory([new UsbipBackend { Log = log }, new VhciCtrlBackend()], () => false);
var controllers = new Dictionary<ControllerBackend, IVirtualHostController>();

async Task<IVirtualHostController> ControllerFor(string name)
{
    var backend = Enum.Parse<ControllerBackend>(name.Replace("-", ""), ignoreCase: true);
    if (!controllers.TryGetValue(backend, out var c))
        controllers[backend] = c = await factory.CreateAsync(2, backend);
    Console.WriteLine($"ok controller {c.Name} backend {c.Backend} bus {c.BusNumber}");
    return c;
}

IVirtualHostController controller;
try
{
    controller = await ControllerFor(args.Length > 0 ? args[0] : "usbip");
}
catch (UsbRedirException e)
{
    Console.WriteLine($"error {e.ErrorId}: {e.Message} {e.RecommendedAction}");
    return 1;
}

var devices = new Dictionary<string, (IUsbDevice Device, IVirtualHostController Controller, int Port)>();
BootKeyboard? keyboard = null;
while (Console.ReadLine() is { } line)
{
    var words = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
    if (words.Length == 0) continue;
    try
    {
        switch (words[0])
        {
            case "plug" when words.Length >= 2:
                IUsbDevice device = words[1] == "disk"
                    ? VirtualDevices.CreateDisk(words[2])
                    : keyboard = VirtualDevices.CreateKeyboard();
                var port = await controller.PlugAsync(device);
                devices[words[1]] = (device, controller, port);
                var kernelPort = (controller as UsbipController)?.KernelPortOf(port);
                Console.WriteLine($"ok plugged {words[1]} port {port} kernel-port {kernelPort}");
                break;
            case "unplug" when words.Length == 2 && devices.Remove(words[1], out var plugged):
                if (plugged.Controller.GetPort(plugged.Port).Device == plugged.Device)
                    await plugged.Controller.UnplugAsync(plugged.Port);
                await plugged.Device.DisposeAsync();
                Console.WriteLine($"ok unplugged {words[1]}");
                break;
            case "type" when keyboard is not null:
                keyboard.Type(line["type ".Length..]);
                Console.WriteLine("ok typed");
                break;
            case "backend" when words.Length == 2:
                controller = await ControllerFor(words[1]);
                break;
            case "ports":
                Console.WriteLine("ok " + string.Join(" ", controller.GetPorts().Select(p => $"{p.Number}:{p.State}")));
                break;
            case "quit":
                foreach (var c in controllers.Values) await c.DisposeAsync();
                Console.WriteLine("ok quit");
                return 0;
            default:
                Console.WriteLine($"error unknown command '{line}'");
                break;
        }
    }
    catch (UsbRedirException e)
    {
        Console.WriteLine($"error {e.ErrorId}: {e.Message}");
    }
}
foreach (var c in controllers.Values) await c.DisposeAsync();
return 0;
