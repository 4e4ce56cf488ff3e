using System.Management.Automation;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.PowerShell.Devices;
using UsbRedir.Sessions;

namespace UsbRedir.PowerShell;

/// <summary>
/// Stops what the module runs in the background when it is removed (Remove-Module UsbRedir) or pwsh exits:
/// connections are disconnected (the peers are told, as far as they answer within a short wait), controllers are
/// taken out of the kernel (unplugging their devices), then the virtual devices are unplugged and their image files closed.
/// </summary>
public sealed class UsbRedirModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    /// <summary>How long shutdown waits for each peer's acknowledgement; removal must not hang on a dead peer.</summary>
    internal static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    private static int _processExitHooked;

    public void OnImport()
    {
        if (Interlocked.Exchange(ref _processExitHooked, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopEverything(ShutdownTimeout);
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => StopEverything(ShutdownTimeout);

    /// <summary>Never throws: it runs while PowerShell removes the module or the process exits.</summary>
    internal static void StopEverything(TimeSpan timeout)
    {
        try
        {
            ConnectionRegistry.DisconnectAllAsync(timeout).Wait(timeout + timeout);
        }
        catch (Exception)
        {
            // A peer that fails during disconnect must not stop the rest of the shutdown.
        }
        foreach (var controller in VhciControllerRegistry.TakeAll())
        {
            try
            {
                controller.Controller.DisposeAsync().AsTask().Wait(timeout);
            }
            catch (Exception)
            {
                // A controller whose backend failed must not keep the others in the kernel.
            }
        }
        foreach (var device in VirtualDeviceTracker.TakeAll())
        {
            try
            {
                device.DisposeAsync().AsTask().Wait(timeout);
            }
            catch (Exception)
            {
                // Same: unplug the other devices regardless.
            }
        }
    }
}
