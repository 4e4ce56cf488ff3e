using UsbRedir.Controllers;
using UsbRedir.Controllers.Urbs;

namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>
/// A virtual host controller without a kernel behind it, for the cmdlets' helpers: the shared base class does the
/// port bookkeeping the cmdlets rely on; attaching and detaching only count. The real backends run in the VM tests.
/// </summary>
internal sealed class InMemoryController(int ports, int busNumber = 9) : VirtualHostController(ControllerBackend.VhciCtrl, $"memory.{busNumber}", busNumber, ports)
{
    private int _attached;

    public int Attached => Volatile.Read(ref _attached);

    public bool BackendClosed { get; private set; }

    protected override Task AttachAsync(int port, UrbRouter router, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attached);
        return Task.CompletedTask;
    }

    protected override Task DetachAsync(int port) => Task.CompletedTask;

    protected override ValueTask CloseBackendAsync()
    {
        BackendClosed = true;
        return ValueTask.CompletedTask;
    }
}
