using UsbRedir.Controllers;
using UsbRedir.Devices;

namespace UsbRedir.PowerShell.Controllers;

/// <summary>
/// A device plugged into a port of a virtual host controller by Connect-UsbDevice -Controller: what
/// Disconnect-UsbDevice takes to unplug it again. Port state and address are read live.
/// </summary>
public sealed class UsbDevicePlug
{
    internal UsbDevicePlug(VhciController controller, int port, IUsbDevice device)
    {
        Controller = controller;
        Port = port;
        Device = device;
    }

    public VhciController Controller { get; }

    /// <summary>The 1-based root-hub port.</summary>
    public int Port { get; }

    public IUsbDevice Device { get; }

    /// <summary>Linux's name for the device's port, bus-port (e.g. 3-1): /sys/bus/usb/devices/3-1.</summary>
    public string BusId => $"{Controller.BusNumber}-{Port}";

    /// <summary>True while this device is still in the port (it leaves when unplugged, when it goes away, or when the controller fails).</summary>
    public bool IsPlugged => Current is { State: VirtualPortState.Plugged or VirtualPortState.Attaching };

    /// <summary>The USB address the kernel gave the device, 0 before enumeration and once unplugged.</summary>
    public byte Address => Current?.Address ?? 0;

    /// <summary>The port now, or null when another device (or none) sits there.</summary>
    internal VirtualPortInfo? Current
    {
        get
        {
            if (Controller.Controller.Closed.IsCancellationRequested)
                return null;
            var info = Controller.Controller.GetPort(Port);
            return ReferenceEquals(info.Device, Device) ? info : null;
        }
    }

    public override string ToString() => $"{Device.Description} in port {Port} of {Controller.Name} ({BusId})";
}
