using UsbRedir.Tests.Support;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Transport;

/// <summary>
/// The read loop's <c>whileWaiting</c> hook (ReadPump): it runs once the stream is empty, and whatever it does, even
/// block its thread, reading goes on without it. The usb-guest role completes its callers there, so a caller waiting
/// synchronously there for another answer relies on exactly this.
/// </summary>
public class ReadPumpTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;

    [Fact]
    public async Task Reading_goes_on_while_the_idle_work_holds_its_thread()
    {
        var (a, b) = await LoopbackSockets.PairAsync();
        await using var sender = ByteStreamConnection.FromSocket(a);
        await using var receiver = ByteStreamConnection.FromSocket(b);
        var chunks = new List<byte>();
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondSeen = new ManualResetEventSlim();
        var idleEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var idleSawSecond = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = 0;
        receiver.Start(chunk =>
        {
            lock (chunks)
                chunks.AddRange(chunk.ToArray());
            if (chunk.Span.IndexOf((byte)1) >= 0) firstSeen.TrySetResult();
            if (chunk.Span.IndexOf((byte)2) >= 0) secondSeen.Set();
            return ValueTask.CompletedTask;
        }, () =>
        {
            // The stream is empty before the first chunk too: hold only the first idle call after it.
            if (!firstSeen.Task.IsCompleted || Interlocked.Exchange(ref held, 1) != 0)
                return;
            idleEntered.TrySetResult();
            idleSawSecond.TrySetResult(secondSeen.Wait(Quick)); // holds the thread that handled the first chunk
        });
        sender.Start(_ => ValueTask.CompletedTask);

        sender.Outgoing.Enqueue(new byte[] { 1 });
        sender.Flush();
        await idleEntered.Task.WaitAsync(Quick);
        sender.Outgoing.Enqueue(new byte[] { 2 });
        sender.Flush();

        Assert.True(await idleSawSecond.Task.WaitAsync(Quick + Quick), "the second chunk was not read while the idle work held its thread");
        lock (chunks)
            Assert.Equal(new byte[] { 1, 2 }, chunks);
    }

    [Fact]
    public async Task A_failing_idle_hook_closes_the_connection_with_its_exception()
    {
        var (a, b) = await LoopbackSockets.PairAsync();
        await using var sender = ByteStreamConnection.FromSocket(a);
        await using var receiver = ByteStreamConnection.FromSocket(b);
        receiver.Start(_ => ValueTask.CompletedTask, () => throw new InvalidOperationException("idle hook broke"));
        sender.Start(_ => ValueTask.CompletedTask);
        sender.Outgoing.Enqueue(new byte[] { 1 });
        sender.Flush();

        var reason = await receiver.Completion.WaitAsync(Quick);
        Assert.IsType<InvalidOperationException>(reason);
        Assert.Equal("idle hook broke", reason!.Message);
    }
}
