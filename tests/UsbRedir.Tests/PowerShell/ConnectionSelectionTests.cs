using UsbRedir.Sessions;
using UsbRedir.Tests.PowerShell.Support;
using UsbRedir.Tests.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.PowerShell;

/// <summary>-Id and -State of Get-UsbRedirConnection and Disconnect-UsbDevice (Connections/ConnectionSelection), on real connections.</summary>
public class ConnectionSelectionTests
{
    private static (IReadOnlyList<UsbRedirConnection> Found, IReadOnlyList<UsbRedirException> Missing) Select(
        IReadOnlyList<UsbRedirConnection> all, int[]? ids, ConnectionState[]? states)
    {
        var result = ModuleInternals.Call("UsbRedir.PowerShell.Connections.ConnectionSelection", "Select", all, ids, states)!;
        var tuple = ((IReadOnlyList<UsbRedirConnection>, IReadOnlyList<UsbRedirException>))result;
        return (tuple.Item1, tuple.Item2);
    }

    [Fact]
    public async Task Selects_by_id_and_state_in_id_order_and_names_each_missing_id()
    {
        await using var listener = new GuestListener();
        var context = new UsbRedirContext(); // numbers them 1 and 2
        var live = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), UsbRedirEndpoint.Parse(listener.Address), context: context);
        var ended = await UsbRedirConnection.ConnectAsync(new LoopbackTestDevice(), UsbRedirEndpoint.Parse(listener.Address), ReconnectPolicy.Never,
            context: context);
        await (await listener.NextGuestAsync()).ExpectAnnouncementAsync();
        var guests = new[] { await listener.NextGuestAsync() };
        try
        {
            // End the second connection from the peer's side: with no reconnects it fails and stays listed.
            await listener.DisposeAsync();
            await ended.Completion.WaitAsync(TestDeadline.Default);
            Assert.Equal(ConnectionState.Failed, ended.State);
            IReadOnlyList<UsbRedirConnection> all = [ended, live];

            Assert.Equal([live, ended], Select(all, null, null).Found);
            Assert.Equal([ended], Select(all, null, [ConnectionState.Failed, ConnectionState.Rejected]).Found);
            Assert.Equal([live], Select(all, [live.Id], null).Found);
            Assert.Empty(Select(all, [live.Id], [ConnectionState.Failed]).Found);

            var (found, missing) = Select(all, [ended.Id, 999_999, 999_999, 888_888], null);
            Assert.Equal([ended], found);
            Assert.Equal([999_999, 888_888], missing.Select(e => (int)e.Target!));
            Assert.All(missing, e =>
            {
                Assert.Equal("ConnectionNotFound", e.ErrorId);
                Assert.Equal(UsbRedirErrorCategory.ObjectNotFound, e.Category);
                Assert.Contains("Get-UsbRedirConnection", e.RecommendedAction);
            });
        }
        finally
        {
            await live.DisconnectAsync(TimeSpan.FromMilliseconds(100));
            await ended.DisconnectAsync(TimeSpan.FromMilliseconds(100));
        }
    }
}
