using System.Net;
using UsbRedir.Controllers;
using UsbRedir.Devices.Software;
using UsbRedir.Server;
using UsbRedir.Sessions;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// The engine used twice in one process: two <see cref="UsbRedirContext"/>s (two front ends, or a module loaded beside
/// the CLI) number, list, check and stop their own connections, servers and controllers, and nothing of the other's.
/// </summary>
public class UsbRedirContextTests
{
    [Fact]
    public async Task Two_contexts_in_one_process_share_no_state()
    {
        var first = new UsbRedirContext();
        var second = new UsbRedirContext();
        // A peer listener each: which of two sockets to one listener is accepted first is not ordered.
        await using var guests = new GuestListener();
        await using var otherGuests = new GuestListener();
        var endpoint = UsbRedirEndpoint.Parse(guests.Address);
        var otherEndpoint = UsbRedirEndpoint.Parse(otherGuests.Address);

        // A connection in each: both are number 1, each listed only in its own context.
        var device = new LoopbackTestDevice();
        var mine = await UsbRedirConnection.ConnectAsync(device, endpoint, ReconnectPolicy.Never, context: first);
        var theirs = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), otherEndpoint, ReconnectPolicy.Never, context: second);
        var (myGuest, theirGuest) = (await guests.NextGuestAsync(), await otherGuests.NextGuestAsync());
        await using var _ = myGuest;
        await using var __ = theirGuest;
        await myGuest.ExpectAnnouncementAsync();
        await theirGuest.ExpectAnnouncementAsync();
        Assert.Equal((1, 1), (mine.Id, theirs.Id));
        Assert.Equal([mine], first.Connections.All);
        Assert.Equal([theirs], second.Connections.All);
        // "Already connected" is the context's own check: the same device again in the first is refused.
        var again = await Assert.ThrowsAsync<UsbRedirException>(() => UsbRedirConnection.ConnectAsync(device, endpoint, ReconnectPolicy.Never, context: first));
        Assert.Equal("DeviceAlreadyConnected", again.ErrorId);

        // A server with a controller of its own in each: numbered 1 each, the controller listed beside its server only.
        var controllers = new[] { new InMemoryController(1), new InMemoryController(1) };
        var options = new UsbRedirServerOptions { Address = IPAddress.Loopback, Port = 0 };
        var myServer = await UsbRedirServer.StartWithOwnControllerAsync(_ => Task.FromResult<IVirtualHostController>(controllers[0]), options, null,
            CancellationToken.None, first);
        var theirServer = await UsbRedirServer.StartWithOwnControllerAsync(_ => Task.FromResult<IVirtualHostController>(controllers[1]), options, null,
            CancellationToken.None, second);
        Assert.Equal((1, 1), (myServer.Id, theirServer.Id));
        Assert.Equal([myServer], first.Servers.All);
        Assert.Equal([theirServer], second.Servers.All);
        Assert.Equal([(1, (IVirtualHostController)controllers[0])], first.Controllers.Numbered);
        Assert.Equal([(1, (IVirtualHostController)controllers[1])], second.Controllers.Numbered);

        // Stopping the first context stops its server (and controller) and disconnects its connection; the second's run on.
        var stopping = first.StopAllAsync(TimeSpan.FromSeconds(5));
        await myGuest.ExpectAsync(T.DeviceDisconnect);
        myGuest.Do(c => c.SendDeviceDisconnectAck());
        await stopping.WaitAsync(TestDeadline.Default);
        Assert.Equal(ConnectionState.Disconnected, mine.State);
        Assert.False(myServer.IsRunning);
        Assert.True(controllers[0].Closed.IsCancellationRequested);
        Assert.Empty(first.Connections.All);
        Assert.Empty(first.Servers.All);
        Assert.Empty(first.Controllers.All);

        Assert.Equal(ConnectionState.Connected, theirs.State);
        Assert.True(theirServer.IsRunning);
        Assert.False(controllers[1].Closed.IsCancellationRequested);
        Assert.Equal([theirs], second.Connections.All);
        Assert.Equal([theirServer], second.Servers.All);
        Assert.Single(second.Controllers.All);

        // Nothing made without a context is listed anywhere, and it has no number.
        var unlisted = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), endpoint, ReconnectPolicy.Never);
        await using var ___ = await guests.NextGuestAsync();
        Assert.Equal(0, unlisted.Id);
        Assert.DoesNotContain(unlisted, first.Connections.All.Concat(second.Connections.All));
        await unlisted.DisconnectAsync(TimeSpan.Zero);

        var stoppingSecond = second.StopAllAsync(TimeSpan.FromSeconds(5));
        await theirGuest.ExpectAsync(T.DeviceDisconnect);
        theirGuest.Do(c => c.SendDeviceDisconnectAck());
        await stoppingSecond.WaitAsync(TestDeadline.Default);
        Assert.True(controllers[1].Closed.IsCancellationRequested);
        Assert.Empty(second.Connections.All);
    }

    [Fact]
    public async Task Stopping_a_context_unplugs_its_virtual_devices_and_no_other_context_s()
    {
        var first = new UsbRedirContext();
        var second = new UsbRedirContext();
        var mine = VirtualDevices.CreateKeyboard();
        var theirs = VirtualDevices.CreateKeyboard();
        first.VirtualDevices.Add(mine);
        second.VirtualDevices.Add(theirs);

        await first.StopAllAsync(TimeSpan.FromSeconds(5)).WaitAsync(TestDeadline.Default);
        Assert.True(mine.Gone.IsCancellationRequested, "the first context's keyboard is unplugged");
        Assert.False(theirs.Gone.IsCancellationRequested, "the second context's keyboard is not");
        Assert.Empty(first.VirtualDevices.TakeAll());

        await second.StopAllAsync(TimeSpan.FromSeconds(5)).WaitAsync(TestDeadline.Default);
        Assert.True(theirs.Gone.IsCancellationRequested);
    }
}
