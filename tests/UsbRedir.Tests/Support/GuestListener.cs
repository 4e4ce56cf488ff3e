using System.Net;
using System.Threading.Channels;
using UsbRedir.Tests.Sessions;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Support;

/// <summary>
/// A usb-guest peer in server mode (like QEMU's usb-redir chardev with server=on) for front-end tests: listens on
/// an ephemeral loopback port and turns every accepted connection into a <see cref="ScriptedPeer"/>.
/// </summary>
internal sealed class GuestListener : IAsyncDisposable
{
    private readonly TcpServerListener _listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<ScriptedPeer> _accepted = Channel.CreateUnbounded<ScriptedPeer>();
    private readonly List<ScriptedPeer> _all = [];

    public GuestListener()
    {
        _ = _listener.AcceptLoopAsync((socket, _) =>
        {
            var guest = ScriptedPeer.FromSocket(socket);
            lock (_all) _all.Add(guest);
            _accepted.Writer.TryWrite(guest);
            return Task.CompletedTask;
        }, _ => { }, _stop.Token);
    }

    /// <summary>"127.0.0.1:port", as users type it after -Server / --server.</summary>
    public string Address => $"127.0.0.1:{_listener.LocalEndPoint.Port}";

    public async Task<ScriptedPeer> NextGuestAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TestDeadline.Default);
        return await _accepted.Reader.ReadAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _listener.DisposeAsync();
        ScriptedPeer[] guests;
        lock (_all) guests = [.. _all];
        foreach (var guest in guests)
            await guest.DisposeAsync();
    }
}
