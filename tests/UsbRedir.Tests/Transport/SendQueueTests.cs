using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Transport;

public class SendQueueTests
{
    [Fact]
    public async Task Producer_waits_when_full_and_resumes_when_drained()
    {
        var q = new SendQueue(maxBytes: 10);
        await q.EnqueueAsync(new byte[8], CancellationToken.None);
        Assert.False(q.TryEnqueue(new byte[3]));
        var blocked = q.EnqueueAsync(new byte[3], CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(blocked.IsCompleted);
        var chunk = await q.DequeueAsync(CancellationToken.None);
        Assert.Equal(8, chunk.Length);
        q.Release(chunk);
        await blocked.WaitAsync(TestDeadline.Default);
        Assert.Equal(3, q.QueuedBytes);
    }

    [Fact]
    public async Task An_empty_queue_accepts_one_oversized_chunk()
    {
        var q = new SendQueue(maxBytes: 4);
        await q.EnqueueAsync(new byte[100], CancellationToken.None);
        Assert.Equal(100, q.QueuedBytes);
        Assert.False(q.TryEnqueue(new byte[1]));
    }

    [Fact]
    public async Task Close_fails_waiting_producers_and_still_drains()
    {
        var q = new SendQueue(maxBytes: 4);
        await q.EnqueueAsync(new byte[] { 1, 2, 3, 4 }, CancellationToken.None);
        var blocked = q.EnqueueAsync(new byte[4], CancellationToken.None).AsTask();
        q.Close(new IOException("peer gone"));
        var e = await Assert.ThrowsAsync<UsbRedirException>(() => blocked);
        Assert.Equal("ConnectionClosed", e.ErrorId);
        Assert.Contains("peer gone", e.Message);
        var chunk = await q.DequeueAsync(CancellationToken.None);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, chunk.Buffer[..chunk.Length]);
        q.Release(chunk);
        Assert.Null((await q.DequeueAsync(CancellationToken.None)).Buffer);
    }

    [Fact]
    public async Task Cancelled_wait_leaves_the_queue_usable()
    {
        var q = new SendQueue(maxBytes: 4);
        await q.EnqueueAsync(new byte[4], CancellationToken.None);
        using var cts = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => q.EnqueueAsync(new byte[4], cts.Token).AsTask());
        Assert.Equal(4, q.QueuedBytes);
    }

    [Fact]
    public async Task Messages_queued_while_the_writer_is_busy_go_out_in_one_write_in_order()
    {
        var q = new SendQueue();
        q.Enqueue(new byte[] { 1, 2 });
        q.Enqueue(new byte[] { 3 });
        q.Enqueue(new byte[] { 4, 5, 6 });
        Assert.Equal(3, q.QueuedChunks); // messages, for the reference's drop policy
        var chunk = await q.DequeueAsync(CancellationToken.None);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, chunk.Buffer[..chunk.Length]);
        q.Enqueue(new byte[] { 7 }); // the chunk being written is not appended to
        Assert.Equal(4, q.QueuedChunks);
        q.Release(chunk);
        Assert.Equal(1, q.QueuedChunks);
        var next = await q.DequeueAsync(CancellationToken.None);
        Assert.Equal(new byte[] { 7 }, next.Buffer[..next.Length]);
        q.Release(next);
        Assert.Equal(0, q.QueuedChunks);
        Assert.Equal(0, q.QueuedBytes);
    }

    [Fact]
    public async Task Messages_encoded_through_the_appender_join_enqueued_ones_in_order()
    {
        var q = new SendQueue();
        q.Enqueue(new byte[] { 1 });
        using (var appender = q.TryOpenAppender()!)
        {
            new byte[] { 2, 3 }.CopyTo(appender.GetSpan(2));
            appender.Advance(2);
            appender.GetSpan(1000); // reserved, never written: a message the encoder refused
            new byte[] { 4 }.CopyTo(appender.GetSpan(1));
            appender.Advance(1);
        }
        q.Enqueue(new byte[] { 5 });
        Assert.Equal(4, q.QueuedChunks);
        Assert.Equal(5, q.QueuedBytes);
        var chunk = await q.DequeueAsync(CancellationToken.None);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, chunk.Buffer[..chunk.Length]);
        q.Release(chunk);
        Assert.Equal(0, q.QueuedChunks);
    }

    [Fact]
    public async Task A_message_larger_than_the_room_left_starts_a_new_chunk()
    {
        var q = new SendQueue();
        var big = new byte[300 * 1024];
        big.AsSpan().Fill(9);
        q.Enqueue(new byte[] { 1 });
        using (var appender = q.TryOpenAppender()!)
        {
            big.CopyTo(appender.GetSpan(big.Length));
            appender.Advance(big.Length);
        }
        var first = await q.DequeueAsync(CancellationToken.None);
        Assert.Equal(new byte[] { 1 }, first.Buffer[..first.Length]);
        q.Release(first);
        var second = await q.DequeueAsync(CancellationToken.None);
        Assert.Equal(big, second.Buffer[..second.Length]);
        q.Release(second);
    }

    [Fact]
    public void A_closed_queue_opens_no_appender_and_stays_usable_for_draining()
    {
        var q = new SendQueue();
        q.Close(new IOException("test"));
        Assert.Null(q.TryOpenAppender());
        Assert.Throws<UsbRedirException>(() => q.Enqueue(new byte[] { 1 })); // the lock was not left held
    }
}
