using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Transport;

/// <summary>
/// <see cref="ByteStreamConnection.PreferInlineCompletions"/>: a chunk that arrives while the read is pending is handled
/// on the socket engine's own thread (not a thread-pool thread woken for it), which the exporter relies on to save a
/// thread wake-up per transfer; without it, on a thread-pool thread. A runtime that drops the internal switch fails the
/// first test here instead of silently losing the saving.
/// </summary>
public class InlineCompletionsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_chunk_that_arrives_while_reading_is_handled_on_the_socket_engine_thread_only_when_preferred(bool inline)
    {
        if (OperatingSystem.IsWindows())
            return; // the switch is Unix's socket engine
        var (a, b) = await LoopbackSockets.PairAsync();
        await using var sender = ByteStreamConnection.FromSocket(a);
        await using var receiver = ByteStreamConnection.FromSocket(b);
        if (inline)
            receiver.PreferInlineCompletions();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handledOnPool = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.Start(chunk =>
        {
            handledOnPool.TrySetResult(Thread.CurrentThread.IsThreadPoolThread);
            return ValueTask.CompletedTask;
        }, () => waiting.TrySetResult()); // runs once the read is registered and pending
        sender.Start(_ => ValueTask.CompletedTask);
        await waiting.Task.WaitAsync(TestDeadline.Default);
        await sender.Outgoing.EnqueueAsync(new byte[] { 1, 2, 3 }, CancellationToken.None);
        Assert.Equal(!inline, await handledOnPool.Task.WaitAsync(TestDeadline.Default));
    }
}
