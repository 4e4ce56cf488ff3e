using UsbRedir;
using UsbRedir.Controllers;
using UsbRedir.Controllers.Usbip;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Sessions;

// Reads one command per line from stdin and answers each with one line on stdout ("ok ..." or "error ..."):
//   plug disk IMAGE | plug keyboard | unplug disk|keyboard | type TEXT | ports | quit
// Diagnostics go to stderr. Exits 0 after "quit" or end of input, 1 when the controller could not be created.
var log = new SessionLog(e => Console.Error.WriteLine($"vmplug: {e}"));
var factory = new VirtualHostControllerFactory([new UsbipControllerBackend { Log = log }], () => false);
var backend = Enum.Parse<ControllerBackend>(args.Length > 0 ? args[0] : "Usbip", ignoreCase: true);

IVirtualHostController controller;
try
{
    controller = await factory.CreateAsync(2, backend);
}
catch (UsbRedirException e)
{
    Console.WriteLine($"error {e.ErrorId}: {e.Message} {e.RecommendedAction}");
    return 1;
}
Console.WriteLine($"ok controller {controller.Name} backend {controller.Backend} bus {controller.BusNumber}");

var devices = new Dictionary<string, (IUsbDevice Device, int Port)>();
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
                devices[words[1]] = (device, port);
                var kernelPort = (controller as UsbipVirtualHostController)?.KernelPortOf(port);
                Console.WriteLine($"ok plugged {words[1]} port {port} kernel-port {kernelPort}");
                break;
            case "unplug" when words.Length == 2 && devices.Remove(words[1], out var plugged):
                if (controller.GetPort(plugged.Port).Device == plugged.Device)
                    await controller.UnplugAsync(plugged.Port);
                await plugged.Device.DisposeAsync();
                Console.WriteLine($"ok unplugged {words[1]}");
                break;
            case "type" when keyboard is not null:
                keyboard.Type(line["type ".Length..]);
                Console.WriteLine("ok typed");
                break;
            case "ports":
                Console.WriteLine("ok " + string.Join(" ", controller.GetPorts().Select(p => $"{p.Number}:{p.State}")));
                break;
            case "quit":
                await controller.DisposeAsync();
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
await controller.DisposeAsync();
return 0;
