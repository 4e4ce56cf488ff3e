using UsbRedir.Devices;

namespace UsbRedir.Controllers;

/// <summary>A snapshot of one root-hub port.</summary>
/// <param name="Number">1-based port number.</param>
/// <param name="State">Where the port is in its life cycle.</param>
/// <param name="Device">The device in the port, or null when <see cref="VirtualPortState.Free"/>.</param>
/// <param name="Address">The USB address the host assigned to the device (0 until SET_ADDRESS, and after a port reset).</param>
public sealed record VirtualPortInfo(int Number, VirtualPortState State, IUsbDevice? Device, byte Address);
