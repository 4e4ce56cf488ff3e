using UsbRedir.Devices;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// USB 3 bulk streams end to end: our usb-guest role uses <see cref="StreamsTestDevice"/> exported by our usb-host role over
/// loopback TCP. Each stream keeps its own data on the device, so a read returning what was written to the same stream id
/// proves the id made it through both roles.
/// </summary>
public sealed class GuestLoopbackStreamsTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;
    private static readonly byte[] Both = [StreamsTestDevice.BulkOut, StreamsTestDevice.BulkIn];

    private static byte[] PatternOf(uint stream, int length) =>
        Enumerable.Range(0, length).Select(i => (byte)(stream * 16 + i)).ToArray();

    [Fact]
    public async Task Every_stream_id_reaches_the_device_and_its_data_comes_back_on_the_same_stream()
    {
        var device = new StreamsTestDevice();
        await using var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();
        Assert.Equal(UsbSpeed.Super, remote.Speed);
        Assert.Equal(9, remote.DeviceDescriptor.Span[7]);
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default).WaitAsync(Quick));

        Assert.Equal(new UsbStreamsResult(UsbStatus.Success, 16), await remote.AllocateStreamsAsync(Both, StreamsTestDevice.Streams, default).WaitAsync(Quick));
        Assert.Equal(16, device.AllocatedStreams(StreamsTestDevice.BulkIn));

        // A read on stream 7 waits on the device while every other stream is written and read back, last first.
        var buffer7 = new byte[256];
        var waiting7 = remote.StreamTransferAsync(StreamsTestDevice.BulkIn, 7, buffer7, default);
        for (uint s = 1; s <= 16; s++)
            if (s != 7)
                Assert.Equal(UsbTransferResult.Ok((int)s * 10), await remote.StreamTransferAsync(StreamsTestDevice.BulkOut, s, PatternOf(s, (int)s * 10), default).WaitAsync(Quick));
        for (var s = 16u; s >= 1; s--)
        {
            if (s == 7)
                continue;
            var back = new byte[256];
            var read = await remote.StreamTransferAsync(StreamsTestDevice.BulkIn, s, back, default).WaitAsync(Quick);
            Assert.Equal(UsbTransferResult.Ok((int)s * 10), read);
            Assert.Equal(PatternOf(s, (int)s * 10), back[..read.ActualLength]);
        }
        Assert.False(waiting7.IsCompleted);
        Assert.Equal(UsbTransferResult.Ok(70), await remote.StreamTransferAsync(StreamsTestDevice.BulkOut, 7, PatternOf(7, 70), default).WaitAsync(Quick));
        Assert.Equal(UsbTransferResult.Ok(70), await waiting7.WaitAsync(Quick));
        Assert.Equal(PatternOf(7, 70), buffer7[..70]);

        // Large transfers on a stream use the 32-bit bulk length like any other.
        var large = new byte[300_000];
        new Random(16).NextBytes(large);
        Assert.Equal(UsbTransferResult.Ok(large.Length), await remote.StreamTransferAsync(StreamsTestDevice.BulkOut, 16, large, default).WaitAsync(Quick));
        var largeBack = new byte[large.Length];
        Assert.Equal(UsbTransferResult.Ok(large.Length), await remote.StreamTransferAsync(StreamsTestDevice.BulkIn, 16, largeBack, default).WaitAsync(Quick));
        Assert.Equal(large, largeBack);

        Assert.Equal(UsbStatus.Success, await remote.FreeStreamsAsync(Both, default).WaitAsync(Quick));
        Assert.Equal(0, device.AllocatedStreams(StreamsTestDevice.BulkIn));
        Assert.Equal(UsbStatus.Invalid, (await remote.StreamTransferAsync(StreamsTestDevice.BulkOut, 1, new byte[1], default).WaitAsync(Quick)).Status);
    }

    [Fact]
    public async Task Cancel_and_reset_end_waiting_stream_transfers_and_a_reset_frees_the_streams()
    {
        var device = new StreamsTestDevice();
        await using var loop = await GuestLoopback.StartAsync(device);
        var remote = await loop.RemoteAsync();
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default).WaitAsync(Quick));
        Assert.Equal(UsbStatus.Success, (await remote.AllocateStreamsAsync(Both, 4, default).WaitAsync(Quick)).Status);

        using var cancel = new CancellationTokenSource();
        var cancelled = remote.StreamTransferAsync(StreamsTestDevice.BulkIn, 2, new byte[8], cancel.Token);
        await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 1, "the host has the stream read pending");
        cancel.Cancel();
        Assert.Equal(UsbStatus.Cancelled, (await cancelled.WaitAsync(Quick)).Status);
        await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 0, "the host cancelled it too");

        var waiting = remote.StreamTransferAsync(StreamsTestDevice.BulkIn, 3, new byte[8], default);
        await Eventually.TrueAsync(() => loop.Host.PendingTransferCount == 1, "the host has the stream read pending");
        Assert.Equal(UsbStatus.Success, await remote.ResetAsync(default).WaitAsync(Quick));
        Assert.Equal(UsbStatus.Cancelled, (await waiting.WaitAsync(Quick)).Status);
        Assert.Equal(UsbStatus.Success, await remote.SetConfigurationAsync(1, default).WaitAsync(Quick));
        Assert.Equal(0, device.AllocatedStreams(StreamsTestDevice.BulkIn));
        Assert.Equal(UsbStatus.Invalid, (await remote.StreamTransferAsync(StreamsTestDevice.BulkOut, 1, new byte[1], default).WaitAsync(Quick)).Status);
        Assert.Equal(new UsbStreamsResult(UsbStatus.Success, 4), await remote.AllocateStreamsAsync(Both, 4, default).WaitAsync(Quick));
    }
}
