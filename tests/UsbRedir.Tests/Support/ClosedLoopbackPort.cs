using System.Net;
using System.Net.Sockets;

namespace UsbRedir.Tests.Support;

/// <summary>
/// A 127.0.0.1 TCP port nobody listens on, for as long as this lives: it stays bound (never listening), so a connect to
/// it is refused and no test running beside can take it meanwhile. A port probed and released at once could be bound
/// again by another test before the connect, which would then succeed.
/// </summary>
internal sealed class ClosedLoopbackPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ClosedLoopbackPort() => _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    /// <summary>"127.0.0.1:port", as users type it after -Server / --server.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public void Dispose() => _socket.Dispose();
}
