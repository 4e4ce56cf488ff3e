using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using UsbRedir.Protocol;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// A usbredir peer for session tests, written on the codec directly: a usb-guest for host-role tests (the default) or a
/// usb-host for guest-role tests. It sends what a test tells it (raw bytes too, for hostile peers) and records every packet
/// it receives (payloads copied), over a real loopback TCP socket. Its reading can be paused to play a slow reader.
/// </summary>
internal sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly UsbRedirCodec _codec;
    private readonly Channel<Received> _received = Channel.CreateUnbounded<Received>();
    private readonly Task _reader;
    private volatile TaskCompletionSource? _paused;

    /// <summary>A received packet with its header decoded at once (the codec reuses the bytes behind an event).</summary>
    public sealed record Received(UsbRedirEventKind Kind, UsbRedirPacketType Type, ulong Id, object? Header, byte[] Payload, string Text)
    {
        public T As<T>() => Header is T t ? t : throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {Text}");
        public override string ToString() => Text;

        public static Received From(UsbRedirEvent e) => e.Kind == UsbRedirEventKind.Error
            ? new(e.Kind, e.PacketType, 0, e.Error, [], e.ToString())
            : new(e.Kind, e.PacketType, e.Id, Decode(e), e.Payload.ToArray(), e.ToString());

        private static object? Decode(UsbRedirEvent e) => e.PacketType switch
        {
            UsbRedirPacketType.Hello => e.Hello,
            UsbRedirPacketType.DeviceConnect => e.DeviceConnect,
            UsbRedirPacketType.InterfaceInfo => e.InterfaceInfo,
            UsbRedirPacketType.EpInfo => e.EpInfo,
            UsbRedirPacketType.ConfigurationStatus => e.ConfigurationStatus,
            UsbRedirPacketType.AltSettingStatus => e.AltSettingStatus,
            UsbRedirPacketType.IsoStreamStatus => e.IsoStreamStatus,
            UsbRedirPacketType.InterruptReceivingStatus => e.InterruptReceivingStatus,
            UsbRedirPacketType.BulkReceivingStatus => e.BulkReceivingStatus,
            UsbRedirPacketType.ControlPacket => e.ControlPacket,
            UsbRedirPacketType.BulkPacket => e.BulkPacket,
            UsbRedirPacketType.InterruptPacket => e.InterruptPacket,
            UsbRedirPacketType.BufferedBulkPacket => e.BufferedBulkPacket,
            UsbRedirPacketType.IsoPacket => e.IsoPacket,
            UsbRedirPacketType.BulkStreamsStatus => e.BulkStreamsStatus,
            UsbRedirPacketType.AllocBulkStreams => e.AllocBulkStreams,
            UsbRedirPacketType.FreeBulkStreams => e.FreeBulkStreams,
            UsbRedirPacketType.FilterFilter => e.FilterString,
            UsbRedirPacketType.SetConfiguration => e.SetConfiguration,
            UsbRedirPacketType.SetAltSetting => e.SetAltSetting,
            UsbRedirPacketType.GetAltSetting => e.GetAltSetting,
            UsbRedirPacketType.StartInterruptReceiving => e.StartInterruptReceiving,
            UsbRedirPacketType.StartIsoStream => e.StartIsoStream,
            UsbRedirPacketType.StopIsoStream => e.StopIsoStream,
            _ => null,
        };
    }

    private ScriptedPeer(Socket socket, UsbRedirCapabilities caps, UsbRedirRole role = UsbRedirRole.UsbGuest)
    {
        _socket = socket;
        _codec = new UsbRedirCodec(role, caps, role == UsbRedirRole.UsbGuest ? "scripted guest" : "scripted host");
        Flush();
        _reader = Task.Run(ReadLoop);
    }

    /// <summary>Creates a connected socket pair over loopback: the guest end and the end for the session under test.</summary>
    public static async Task<(ScriptedPeer Guest, Socket HostSide)> ConnectAsync(UsbRedirCapabilities caps = UsbRedirCapabilities.All & ~UsbRedirCapabilities.BulkStreams,
        int? kernelBufferBytes = null)
    {
        var (client, server) = await Support.LoopbackSockets.PairAsync(kernelBufferBytes);
        return (new ScriptedPeer(client, caps), server);
    }

    /// <summary>A scripted usb-host and the socket end for the guest session under test.</summary>
    public static async Task<(ScriptedPeer Host, Socket GuestSide)> ConnectHostAsync(UsbRedirCapabilities caps = UsbRedirCapabilities.All & ~UsbRedirCapabilities.BulkStreams,
        int? kernelBufferBytes = null)
    {
        var (client, server) = await Support.LoopbackSockets.PairAsync(kernelBufferBytes);
        return (new ScriptedPeer(client, caps, UsbRedirRole.UsbHost), server);
    }

    /// <summary>Wraps an accepted socket (the guest as the listening side, like QEMU's chardev in server mode).</summary>
    public static ScriptedPeer FromSocket(Socket socket, UsbRedirCapabilities caps = UsbRedirCapabilities.All & ~UsbRedirCapabilities.BulkStreams) =>
        new(socket, caps);

    public UsbRedirCodec Codec => _codec;

    public void Send<T>(ulong id, in T header, ReadOnlySpan<byte> payload = default) where T : IUsbRedirHeader
    {
        lock (_codec) _codec.Send(id, header, payload);
        Flush();
    }

    public void Do(Action<UsbRedirCodec> action)
    {
        lock (_codec) action(_codec);
        Flush();
    }

    public void SendRaw(ReadOnlySpan<byte> bytes) => _socket.Send(bytes);

    private void Flush()
    {
        lock (_codec)
        {
            var pending = _codec.PendingOutput;
            if (pending.Length == 0) return;
            _socket.Send(pending.Span);
            _codec.AdvanceOutput(pending.Length);
        }
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                if (_paused is { } paused)
                    await paused.Task;
                var n = await _socket.ReceiveAsync(buffer);
                if (n == 0) break;
                UsbRedirEventBatch batch;
                lock (_codec) batch = _codec.Receive(buffer.AsSpan(0, n));
                foreach (var ev in batch)
                    _received.Writer.TryWrite(Received.From(ev));
                Flush();
            }
        }
        catch (Exception) { }
        _received.Writer.TryComplete();
    }

    /// <summary>The next received packet (skipping hello), failing after a timeout.</summary>
    public async Task<Received> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Support.TestDeadline.Default);
        while (true)
        {
            var r = await _received.Reader.ReadAsync(cts.Token);
            if (r.Kind == UsbRedirEventKind.Packet && r.Type == UsbRedirPacketType.Hello) continue;
            return r;
        }
    }

    public async Task<Received> ExpectAsync(UsbRedirPacketType type, TimeSpan? timeout = null)
    {
        var r = await NextAsync(timeout);
        Assert.True(r.Kind == UsbRedirEventKind.Packet && r.Type == type, $"expected {type}, got {r}");
        return r;
    }

    /// <summary>Expects the host's announcement in usbredirhost's order and returns the device_connect header.</summary>
    public async Task<DeviceConnectHeader> ExpectAnnouncementAsync()
    {
        await ExpectAsync(UsbRedirPacketType.InterfaceInfo);
        await ExpectAsync(UsbRedirPacketType.EpInfo);
        return (await ExpectAsync(UsbRedirPacketType.DeviceConnect)).As<DeviceConnectHeader>();
    }

    /// <summary>
    /// True when nothing arrives within <paramref name="quiet"/> and the connection stays open: a session that crashed or
    /// hung up is not silent. Only a test that expects the other side to close passes <paramref name="closeExpected"/>.
    /// </summary>
    public async Task<bool> NothingWithinAsync(TimeSpan quiet, bool closeExpected = false)
    {
        using var cts = new CancellationTokenSource(quiet);
        try
        {
            var r = await _received.Reader.ReadAsync(cts.Token);
            throw new Xunit.Sdk.XunitException($"expected silence, got {r}");
        }
        catch (OperationCanceledException) { return true; }
        catch (ChannelClosedException) when (closeExpected) { return true; }
        catch (ChannelClosedException)
        {
            throw new Xunit.Sdk.XunitException("expected silence, but the connection was closed (the session ended or crashed)");
        }
    }

    /// <summary>Stops reading the socket (after the read in progress), so the other side's sends back up.</summary>
    public void PauseReading() => _paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResumeReading()
    {
        var paused = _paused;
        _paused = null;
        paused?.TrySetResult();
    }

    /// <summary>Waits until the host closes the connection.</summary>
    public Task Closed => _reader;

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        ResumeReading();
        await _reader;
    }
}
