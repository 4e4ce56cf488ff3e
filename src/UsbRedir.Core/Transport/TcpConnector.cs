using System.Net;
using System.Net.Sockets;

namespace UsbRedir.Transport;

/// <summary>Opens client TCP connections with errors that name the cause and the fix.</summary>
public static class TcpConnector
{
    public static async Task<Socket> ConnectAsync(UsbRedirEndpoint endpoint, TcpKeepAlive? keepAlive, TimeSpan timeout, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        try
        {
            addresses = endpoint.Address is { } literal ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        }
        catch (SocketException e)
        {
            throw new UsbRedirException("HostNotFound", UsbRedirErrorCategory.ConnectionError,
                $"Cannot resolve '{endpoint.Host}': {e.Message}.", "Check the host name, or give an IP address.", endpoint, e);
        }
        if (addresses.Length == 0)
            throw new UsbRedirException("HostNotFound", UsbRedirErrorCategory.ConnectionError,
                $"'{endpoint.Host}' resolves to no address.", "Check the host name, or give an IP address.", endpoint);

        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                keepAlive?.ApplyTo(socket);
                using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeoutCts.CancelAfter(timeout);
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), timeoutCts.Token);
                return socket;
            }
            catch (SocketException e)
            {
                last = e;
                socket.Dispose();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                last = new SocketException((int)SocketError.TimedOut);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw Describe(endpoint, last!);
    }

    private static UsbRedirException Describe(UsbRedirEndpoint endpoint, SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => new("ConnectionRefused", UsbRedirErrorCategory.ConnectionError,
            $"Nothing is listening at {endpoint}.",
            "Start the usbredir server (or QEMU with a usb-redir chardev in server mode) on that port, or check the address.", endpoint, e),
        SocketError.TimedOut => new("ConnectionTimedOut", UsbRedirErrorCategory.OperationTimeout,
            $"Connecting to {endpoint} timed out.", "Check that the host is up and that no firewall drops the port.", endpoint, e),
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => new("HostUnreachable", UsbRedirErrorCategory.ConnectionError,
            $"{endpoint} is unreachable: {e.Message}.", "Check the address and the network route.", endpoint, e),
        _ => new("ConnectionFailed", UsbRedirErrorCategory.ConnectionError,
            $"Cannot connect to {endpoint}: {e.Message}.", null, endpoint, e),
    };
}
