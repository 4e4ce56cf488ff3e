using System.Net;
using System.Net.Sockets;

namespace UsbRedir.Transport;

/// <summary>
/// Listens on one address and hands each accepted socket to a callback. One listener serves many
/// connections; a failing connection handler never stops the accept loop.
/// </summary>
public sealed class TcpServerListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly TcpKeepAlive? _keepAlive;

    private TcpServerListener(Socket socket, TcpKeepAlive? keepAlive)
    {
        _socket = socket;
        _keepAlive = keepAlive;
    }

    /// <summary>The bound endpoint (with the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>
    /// Binds <paramref name="address"/>:<paramref name="port"/>. <see cref="IPAddress.IPv6Any"/> listens dual-stack
    /// (IPv4 and IPv6), like usbredirserver did.
    /// </summary>
    public static TcpServerListener Start(IPAddress address, int port, TcpKeepAlive? keepAlive, int backlog = 16)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            AllowRebindDuringTimeWait(socket);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(backlog);
            return new TcpServerListener(socket, keepAlive);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            var where = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}";
            throw e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => new UsbRedirException("ServerPortInUse", UsbRedirErrorCategory.ResourceBusy,
                    $"Port {port} is already in use on {address}.", "Stop the program using it (ss -ltnp shows which) or choose another port (-Port, -Listen, --port, --listen).", where, e),
                SocketError.AccessDenied => new UsbRedirException("ServerPortAccessDenied", UsbRedirErrorCategory.PermissionDenied,
                    $"Not allowed to listen on {where}.", "Ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port >= 1024.", where, e),
                SocketError.AddressNotAvailable => new UsbRedirException("ServerAddressNotAvailable", UsbRedirErrorCategory.InvalidArgument,
                    $"{address} is not an address of this machine.", "Give a local address, or omit it to listen on all addresses.", where, e),
                _ => new UsbRedirException("ServerListenFailed", UsbRedirErrorCategory.ResourceUnavailable,
                    $"Cannot listen on {where}: {e.Message}.", null, where, e),
            };
        }
    }

    /// <summary>
    /// Lets a restarted server bind while old connections sit in TIME_WAIT. Only plain SO_REUSEADDR: .NET's
    /// ReuseAddress option also sets SO_REUSEPORT on Linux, which would let a second server share the port silently.
    /// </summary>
    private static void AllowRebindDuringTimeWait(Socket socket)
    {
        const int SolSocket = 1, SoReuseAddr = 2;
        if (OperatingSystem.IsLinux())
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
    }

    /// <summary>
    /// Accepts until cancelled or disposed. Each socket goes to <paramref name="onAccepted"/> on its own task;
    /// exceptions from it are passed to <paramref name="onHandlerError"/> and never end the loop.
    /// </summary>
    public async Task AcceptLoopAsync(Func<Socket, CancellationToken, Task> onAccepted, Action<Exception> onHandlerError, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(cancellationToken);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue; // the client gave up before we accepted: not the listener's problem
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    client.NoDelay = true;
                    _keepAlive?.ApplyTo(client);
                    await onAccepted(client, cancellationToken);
                }
                catch (Exception e)
                {
                    client.Dispose();
                    onHandlerError(e);
                }
            }, CancellationToken.None);
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
