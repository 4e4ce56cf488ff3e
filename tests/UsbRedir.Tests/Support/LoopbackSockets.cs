using System.Net;
using System.Net.Sockets;

namespace UsbRedir.Tests.Support;

/// <summary>Connected TCP socket pairs over 127.0.0.1 (an ephemeral port), so sessions run over a real kernel socket.</summary>
internal static class LoopbackSockets
{
    /// <param name="kernelBufferBytes">
    /// When set, both ends' kernel send and receive buffers are fixed to this size (which also turns off the kernel's
    /// buffer autotuning), so a test about back-pressure does not depend on how much the machine's TCP settings let the
    /// kernel absorb.
    /// </param>
    public static async Task<(Socket Client, Socket Server)> PairAsync(int? kernelBufferBytes = null)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (kernelBufferBytes is { } size)
        {
            // Set before connecting (the accepted socket inherits the listener's): the window is negotiated at the handshake.
            foreach (var s in new[] { listener, client })
                (s.SendBufferSize, s.ReceiveBufferSize) = (size, size);
        }
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await accept;
        server.NoDelay = true;
        return (client, server);
    }
}
