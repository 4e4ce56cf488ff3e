using System.Management.Automation;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.PowerShell.Devices;
using UsbRedir.PowerShell.Servers;
using UsbRedir.Sessions;

namespace UsbRedir.PowerShell;

/// <summary>
/// Stops what the module runs in the background when it is removed (Remove-Module UsbRedir) or pwsh exits:
/// servers stop (unplugging what they accepted), connections are disconnected (the peers are told, as far as they answer within a short wait), controllers are
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
        // Servers first (they unplug what they accepted), then the connections, then controllers and devices.
        Guarded(() => ServerLauncher.StopAllAsync(timeout), timeout + timeout);
        Guarded(() => ConnectionRegistry.DisconnectAllAsync(timeout), timeout + timeout);
        foreach (var controller in VhciControllerRegistry.TakeAll())
            Guarded(() => controller.Controller.DisposeAsync().AsTask(), timeout);
        foreach (var device in VirtualDeviceTracker.TakeAll())
            Guarded(() => device.DisposeAsync().AsTask(), timeout);
    }

    /// <summary>Runs one shutdown step; a step that fails or hangs must not keep the others from running.</summary>
    private static void Guarded(Func<Task> step, TimeSpan limit)
    {
        try
        {
            step().Wait(limit);
        }
        catch (Exception)
        {
            // Nothing to report to: the module is going away.
        }
    }
}
