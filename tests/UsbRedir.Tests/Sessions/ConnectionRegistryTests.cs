using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Sessions;

/// <summary>Connections that end by themselves stay listed, like finished jobs, so front ends can show why they ended.</summary>
public class ConnectionRegistryTests
{
    [Fact]
    public async Task A_connection_that_ended_by_itself_stays_listed_until_disconnected()
    {
        await using var listener = new GuestListener();
        var device = new LoopbackTestDevice();
        var context = new UsbRedirContext();
        var connection = await UsbRedirConnection.ConnectAsync(device, UsbRedirEndpoint.Parse(listener.Address), ReconnectPolicy.Never, context: context);
        await (await listener.NextGuestAsync()).DisposeAsync();
        await connection.Completion.WaitAsync(TestDeadline.Default);

        Assert.Equal(ConnectionState.Failed, connection.State);
        Assert.Contains(connection, context.Connections.All);
        Assert.Contains("giving up", connection.LastError);

        // An ended connection does not hold on to its device: it can be pushed again at once.
        var again = await UsbRedirConnection.ConnectAsync(device, UsbRedirEndpoint.Parse(listener.Address), ReconnectPolicy.Never, context: context);
        Assert.Equal(ConnectionState.Connected, again.State);

        // Disconnecting an ended connection only takes it off the list; its final state and error stay.
        await connection.DisconnectAsync(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(connection, context.Connections.All);
        Assert.Equal(ConnectionState.Failed, connection.State);
        Assert.Contains(again, context.Connections.All);
        await again.DisconnectAsync(TimeSpan.FromMilliseconds(200));
        Assert.DoesNotContain(again, context.Connections.All);
        Assert.Equal(ConnectionState.Disconnected, again.State);
    }
}
