using System.Reflection;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Sessions;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.PowerShell;

/// <summary>Stopping everything disconnects every connection in the process, so nothing else may run beside it.</summary>
[CollectionDefinition(nameof(ProcessWideConnections), DisableParallelization = true)]
public sealed class ProcessWideConnections;

/// <summary>Remove-Module UsbRedir (IModuleAssemblyCleanup.OnRemove) stops connections and unplugs the module's devices.</summary>
[Collection(nameof(ProcessWideConnections))]
public class ModuleLifetimeTests
{
    private static Type Lifetime => PublishedModule.Assembly.GetType("UsbRedir.PowerShell.UsbRedirModuleLifetime", throwOnError: true)!;

    [Fact]
    public void The_module_hooks_import_and_removal()
    {
        Assert.True(Lifetime.IsPublic && Lifetime.IsSealed);
        var interfaces = Lifetime.GetInterfaces().Select(i => i.FullName).ToList();
        Assert.Contains("System.Management.Automation.IModuleAssemblyCleanup", interfaces);
        Assert.Contains("System.Management.Automation.IModuleAssemblyInitializer", interfaces);
    }

    [Fact]
    public async Task Removal_disconnects_connections_politely_and_unplugs_the_devices()
    {
        await using var listener = new GuestListener();
        var keyboard = (BootKeyboard)ModuleInternals.Call("UsbRedir.PowerShell.Devices.VirtualDeviceFactory", "CreateKeyboard", null, null, null)!;
        var connection = await UsbRedirConnection.ConnectAsync(keyboard, UsbRedirEndpoint.Parse(listener.Address));
        var guest = await listener.NextGuestAsync();
        await guest.ExpectAnnouncementAsync();

        // What PowerShell calls on Remove-Module; the guest acknowledges the disconnect like QEMU does.
        var onRemove = Task.Run(() => Lifetime.GetMethod("OnRemove", BindingFlags.Public | BindingFlags.Instance)!
            .Invoke(Activator.CreateInstance(Lifetime), [null]));
        await guest.ExpectAsync(T.DeviceDisconnect);
        guest.Do(c => c.SendDeviceDisconnectAck());
        await onRemove.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(ConnectionState.Disconnected, connection.State);
        Assert.Empty(ConnectionRegistry.All);
        Assert.True(keyboard.Gone.IsCancellationRequested);
    }
}
