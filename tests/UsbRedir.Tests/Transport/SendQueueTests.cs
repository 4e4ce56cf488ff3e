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
        await blocked.WaitAsync(TimeSpan.FromSeconds(5));
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
}
