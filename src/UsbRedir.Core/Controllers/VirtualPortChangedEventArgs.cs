namespace UsbRedir.Controllers;

/// <summary>A port of a controller changed state (see <see cref="IVirtualHostController.PortChanged"/>).</summary>
public sealed class VirtualPortChangedEventArgs(VirtualPortInfo port, Exception? error = null) : EventArgs
{
    /// <summary>The port after the change.</summary>
    public VirtualPortInfo Port { get; } = port;

    /// <summary>Why the device was unplugged when the controller did it on its own (a backend failure), else null.</summary>
    public Exception? Error { get; } = error;
}
