using System.Reflection;

namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>Calls internal static helpers of the published module (see <see cref="PublishedModule"/> for why not a reference).</summary>
public static class ModuleInternals
{
    /// <summary>The module's engine context (UsbRedirModuleLifetime.Context): what its cmdlets list; replaced when the module is removed.</summary>
    public static UsbRedirContext Context => (UsbRedirContext)PublishedModule.Assembly
        .GetType("UsbRedir.PowerShell.UsbRedirModuleLifetime", throwOnError: true)!.GetProperty("Context")!.GetValue(null)!;

    public static object? Call(string typeName, string method, params object?[] arguments)
    {
        var type = PublishedModule.Assembly.GetType(typeName, throwOnError: true)!;
        var target = type.GetMethod(method, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                     ?? throw new MissingMethodException(typeName, method);
        try
        {
            return target.Invoke(null, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
