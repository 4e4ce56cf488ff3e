using System.Collections.Concurrent;
using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// The order of a bulk endpoint's answers. QEMU's usb-redir pipelines bulk OUT packets and aborts (hw/usb/core.c,
/// usb_packet_complete_one) when one is answered before an older one of the same endpoint: a SuperSpeed UAS disk's
/// command pipe did that once in CI. A libusb device completes an endpoint's transfers in order on its event thread; the
/// answers must leave in that order. With an <c>await</c> between the two they did not always: under CPU load (three busy
/// loops on this machine's two cores) the first test saw whole runs of answers one behind. A transfer the device refuses
/// at once must wait for the older ones too (the second test).
/// </summary>
public class HostAnswerOrderTests
{
    /// <summary>The loopback test device, but its bulk transfers complete as libusb's do: one event thread, in submission order, right away.</summary>
    private sealed class EventThreadDevice() : DelegatingUsbDevice(new LoopbackTestDevice()), IInlineCompletingDevice
    {
        private readonly BlockingCollection<(Action<UsbTransferResult, object> Done, object State, int Length)> _queue = new();

        /// <summary>Starts the device's event thread.</summary>
        public void Start() =>
            new Thread(() =>
            {
                var spin = new Random(1);
                foreach (var (done, state, length) in _queue.GetConsumingEnumerable())
                {
                    Thread.SpinWait(spin.Next(0, 50)); // lands some completions while the session is still submitting
                    done(UsbTransferResult.Ok(length), state);
                }
            }) { IsBackground = true, Name = "test event thread" }.Start();

        public void StartTransfer(byte endpoint, uint streamId, Memory<byte> buffer, Action<UsbTransferResult, object> done, object state,
            CancellationToken cancellationToken) => _queue.Add((done, state, buffer.Length));

        public override Task<UsbTransferResult> TransferAsync(byte e, Memory<byte> b, CancellationToken t) =>
            throw new InvalidOperationException("the session should use StartTransfer");

        public override ValueTask DisposeAsync()
        {
            _queue.CompleteAdding();
            return base.DisposeAsync();
        }
    }

    /// <summary>A host session exporting <paramref name="device"/> to a scripted peer that has set configuration 1.</summary>
    private static async Task<(UsbRedirHostSession Host, ScriptedPeer Guest)> ExportConfiguredAsync(IUsbDevice device)
    {
        var (guest, hostSide) = await ScriptedPeer.ConnectAsync();
        var host = new UsbRedirHostSession(device, ByteStreamConnection.FromSocket(hostSide), new SessionLog());
        host.Start();
        await guest.ExpectAnnouncementAsync();
        await HostSessionTests.ConfigureAsync(guest);
        return (host, guest);
    }

    [Fact]
    public async Task Bulk_answers_on_one_endpoint_leave_in_the_order_the_device_completed_them()
    {
        await using var device = new EventThreadDevice();
        device.Start();
        var (host, guest) = await ExportConfiguredAsync(device);
        await using var _g = guest;
        await using var _h = host;
        const int count = 50_000;
        var sender = Task.Run(() =>
        {
            for (var i = 0; i < count; i++)
                guest.Send((ulong)i, new BulkPacketHeader(0x01, UsbStatus.Success, 1, 0), [1]);
        });
        var disorder = new List<string>();
        for (ulong expected = 0; expected < count; expected++)
        {
            var reply = await guest.ExpectAsync(T.BulkPacket, TimeSpan.FromSeconds(30));
            if (reply.Id != expected && disorder.Count < 10)
                disorder.Add($"answer {reply.Id} came where {expected} was due");
        }
        await sender;
        Assert.Empty(disorder);
    }

    /// <summary>Holds its first bulk transfer until told, and refuses the next ones at once, as a device that just went away does.</summary>
    private sealed class RefusingDevice() : DelegatingUsbDevice(new LoopbackTestDevice()), IInlineCompletingDevice
    {
        private (Action<UsbTransferResult, object> Done, object State, int Length)? _held;
        private int _started;

        public void StartTransfer(byte endpoint, uint streamId, Memory<byte> buffer, Action<UsbTransferResult, object> done, object state,
            CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _started) == 1)
                _held = (done, state, buffer.Length);
            else
                done(UsbTransferResult.Failed(UsbStatus.IoError), state);
        }

        public void CompleteHeld() => _held!.Value.Done(UsbTransferResult.Ok(_held.Value.Length), _held.Value.State);
    }

    [Fact]
    public async Task A_transfer_refused_at_once_is_answered_after_the_older_ones_of_its_endpoint()
    {
        await using var device = new RefusingDevice();
        var (host, guest) = await ExportConfiguredAsync(device);
        await using var _g = guest;
        await using var _h = host;

        guest.Send(1, new BulkPacketHeader(0x01, UsbStatus.Success, 3, 0), [1, 2, 3]);
        guest.Send(2, new BulkPacketHeader(0x01, UsbStatus.Success, 1, 0), [4]);
        guest.Send(3, new BulkPacketHeader(0x01, UsbStatus.Success, 1, 0), [5]);
        Assert.True(await guest.NothingWithinAsync(TimeSpan.FromMilliseconds(300)), "a refusal overtook the transfer still at the device");
        device.CompleteHeld();
        var first = await guest.ExpectAsync(T.BulkPacket);
        Assert.Equal((1ul, UsbStatus.Success, 3u), (first.Id, first.As<BulkPacketHeader>().Status, first.As<BulkPacketHeader>().Length));
        foreach (var id in new ulong[] { 2, 3 })
        {
            var refused = await guest.ExpectAsync(T.BulkPacket);
            Assert.Equal((id, UsbStatus.IoError), (refused.Id, refused.As<BulkPacketHeader>().Status));
        }
    }
}
