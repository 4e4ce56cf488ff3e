using System.Management.Automation;

namespace UsbRedir.PowerShell;

/// <summary>
/// Owns the module's engine context (<see cref="Context"/>: its connections, servers and controllers) and stops what the
/// module runs in the background when it is removed (Remove-Module UsbRedir) or pwsh exits: servers stop (unplugging
/// what they accepted), connections are disconnected (the peers are told, as far as they answer within a short wait),
/// controllers are taken out of the kernel (unplugging their devices), then the virtual devices are unplugged and their
/// image files closed.
/// </summary>
public sealed class UsbRedirModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    /// <summary>How long shutdown waits for each peer's acknowledgement; removal must not hang on a dead peer.</summary>
    internal static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    private static int _processExitHooked;
    private static UsbRedirContext _context = new();

    /// <summary>
    /// The engine context of this module load: what Get-UsbRedirConnection, Get-UsbRedirServer and Get-VhciController list
    /// and number. Removing the module stops everything in it; a later Import-Module starts with a fresh one.
    /// </summary>
    public static UsbRedirContext Context => Volatile.Read(ref _context);

    public void OnImport()
    {
        if (Interlocked.Exchange(ref _processExitHooked, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopEverything(ShutdownTimeout);
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => StopEverything(ShutdownTimeout);

    /// <summary>Never throws: it runs while PowerShell removes the module or the process exits.</summary>
    internal static void StopEverything(TimeSpan timeout)
    {
        // The next import gets a context of its own; this one is stopped (servers, connections, controllers, then the
        // virtual devices).
        var ending = Interlocked.Exchange(ref _context, new UsbRedirContext());
        Guarded(() => ending.StopAllAsync(timeout), 3 * (timeout + timeout) + timeout);
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
