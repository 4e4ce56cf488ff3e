using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// A guest's QEMU Machine Protocol monitor (qemu <c>-qmp unix:PATH,server=on,wait=off</c>): device_del, input-send-event
/// and the like, to make things happen to the guest's emulated hardware while a test runs.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly Stream _stream;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    /// <summary>qemu's arguments for a QMP socket at <paramref name="path"/>.</summary>
    public static string[] QemuArgs(string path) => ["-qmp", $"unix:{path},server=on,wait=off"];

    /// <summary>Connects once qemu listens at <paramref name="path"/> (it binds only once it holds the machine-wide VM lock), and negotiates.</summary>
    public static async Task<QmpClient> ConnectAsync(string path, Task guest)
    {
        while (true)
        {
            if (guest.IsCompleted)
                throw new Xunit.Sdk.XunitException("the guest ended before its QMP socket could be reached");
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
            }
            catch (SocketException)
            {
                socket.Dispose();
                await Task.Delay(200);
                continue;
            }
            var client = new QmpClient(socket);
            await client._reader.ReadLineAsync(); // the greeting
            await client.ExecuteAsync("qmp_capabilities");
            return client;
        }
    }

    /// <summary>Runs a command and returns its "return" value; a QMP "error" throws.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, object? arguments = null)
    {
        var request = arguments is null
            ? JsonSerializer.Serialize(new { execute = command })
            : JsonSerializer.Serialize(new { execute = command, arguments });
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request + "\n"));
        while (true)
        {
            var line = await _reader.ReadLineAsync() ?? throw new IOException($"QMP closed during {command}");
            var reply = JsonNode.Parse(line)!.AsObject();
            if (reply.ContainsKey("event"))
                continue;
            if (reply["error"] is { } error)
                throw new InvalidOperationException($"QMP {command}: {error.ToJsonString()}");
            return reply["return"];
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
