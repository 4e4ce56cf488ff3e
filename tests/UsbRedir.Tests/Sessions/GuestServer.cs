using System.Net;
using System.Threading.Channels;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Sessions;

/// <summary>A listening usb-guest for connection tests: each accepted connection becomes a <see cref="ScriptedPeer"/> (like QEMU's chardev in server mode).</summary>
internal sealed class GuestServer : IAsyncDisposable
{
    private readonly TcpServerListener _listener;
    private readonly CancellationTokenSource _cts = new();
    public readonly Channel<ScriptedPeer> Guests = Channel.CreateUnbounded<ScriptedPeer>();

    public GuestServer()
    {
        _listener = TcpServerListener.Start(IPAddress.Loopback, 0, null);
        _ = _listener.AcceptLoopAsync((s, _) => { Guests.Writer.TryWrite(ScriptedPeer.FromSocket(s)); return Task.CompletedTask; }, _ => { }, _cts.Token);
    }

    public UsbRedirEndpoint Endpoint => new("127.0.0.1", _listener.LocalEndPoint.Port);

    public async Task<ScriptedPeer> NextGuestAsync() =>
        await Guests.Reader.ReadAsync(new CancellationTokenSource(TestDeadline.Default).Token);

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        await _listener.DisposeAsync();
    }
}
