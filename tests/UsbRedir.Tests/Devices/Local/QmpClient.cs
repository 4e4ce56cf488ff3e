using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace UsbRedir.Tests.Devices.Local;

/// <summary>
/// A QEMU monitor (QMP) client over the unix socket qemu was started with (<c>-qmp unix:PATH,server=on,wait=off</c>):
/// device_add and device_del for hot-plug tests. Commands are sent one at a time; events in between are skipped.
/// </summary>
internal sealed class QmpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    /// <summary>Connects, reads the greeting and leaves negotiation mode (qmp_capabilities).</summary>
    public static async Task<QmpClient> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            var client = new QmpClient(socket);
            var greeting = await client._reader.ReadLineAsync(cancellationToken);
            if (greeting is null || !greeting.Contains("\"QMP\"", StringComparison.Ordinal))
                throw new InvalidOperationException($"not a QMP greeting: {greeting}");
            await client.ExecuteAsync("qmp_capabilities", null, cancellationToken);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs one command; returns its "return" value as JSON text, throws with qemu's message on "error".</summary>
    public async Task<string> ExecuteAsync(string command, object? arguments, CancellationToken cancellationToken)
    {
        var request = arguments is null
            ? JsonSerializer.Serialize(new { execute = command })
            : JsonSerializer.Serialize(new { execute = command, arguments });
        await _writer.WriteLineAsync(request.AsMemory(), cancellationToken);
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new IOException($"QMP closed during {command}");
            using var reply = JsonDocument.Parse(line);
            if (reply.RootElement.TryGetProperty("return", out var value))
                return value.GetRawText();
            if (reply.RootElement.TryGetProperty("error", out var error))
                throw new InvalidOperationException($"QMP {command}: {error.GetRawText()}");
            // {"event": ...}: not the answer
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _writer.Dispose();
        _socket.Dispose();
    }
}
