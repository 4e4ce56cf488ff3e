using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Transport;
using T = UsbRedir.Protocol.UsbRedirPacketType;

namespace UsbRedir.Tests.Sessions;

/// <summary>
/// How the usb-guest role hands completed transfers to their callers (CompletionDispatcher): callers' continuations
/// never run on the read loop, and one that blocks its thread, even waiting synchronously for another transfer, stalls
/// neither the connection nor the transfers completed after it. Against a scripted usb-host, which decides exactly
/// when and how (one write or two) the answers arrive.
/// </summary>
public class GuestCompletionTests
{
    private static readonly TimeSpan Quick = TestDeadline.Default;

    private static async Task<(UsbRedirGuestSession Guest, ScriptedPeer Host, RemoteUsbDevice Remote)> AttachAsync()
    {
        var (host, guestSide) = await ScriptedPeer.ConnectHostAsync();
        var guest = new UsbRedirGuestSession(ByteStreamConnection.FromSocket(guestSide), new SessionLog());
        guest.Start();
        var remote = await ScriptedHostDevice.AttachAsync(host, guest);
        return (guest, host, remote);
    }

    private static void AnswerBulkIn(UsbRedirCodec codec, ScriptedPeer.Received request, byte fill)
    {
        var h = request.As<BulkPacketHeader>();
        codec.Send(request.Id, h with { Status = UsbStatus.Success }, Enumerable.Repeat(fill, (int)h.Length).ToArray());
    }

    /// <summary>
    /// Starts bulk IN transfers A and B and, when A completes, runs a continuation on the completing thread that waits
    /// synchronously for B (sync-over-async). Returns what that continuation saw of B.
    /// </summary>
    private static (Task<UsbTransferResult> Blocked, TaskCompletionSource Entered, byte[] BufferB) StartAWaitingForB(RemoteUsbDevice remote)
    {
        var bufferB = new byte[8];
        var a = remote.TransferAsync(0x81, new byte[8], default);
        var b = remote.TransferAsync(0x81, bufferB, default);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocked = a.ContinueWith(_ =>
        {
            entered.TrySetResult();
            return b.GetAwaiter().GetResult(); // blocks this thread until B completes
        }, TaskContinuationOptions.ExecuteSynchronously);
        return (blocked, entered, bufferB);
    }

    [Fact]
    public async Task A_caller_blocking_in_its_continuation_does_not_hold_the_read_loop()
    {
        var (guest, host, remote) = await AttachAsync();
        await using var _g = guest;
        await using var _h = host;
        var (blocked, entered, bufferB) = StartAWaitingForB(remote);
        var requestA = await host.ExpectAsync(T.BulkPacket);
        var requestB = await host.ExpectAsync(T.BulkPacket);

        host.Do(c => AnswerBulkIn(c, requestA, 0xAA));
        await entered.Task.WaitAsync(Quick); // A's caller now blocks its thread
        // B's answer arrives after A's caller blocked: only a read loop that is not that thread can take it.
        host.Do(c => AnswerBulkIn(c, requestB, 0xBB));
        Assert.Equal(UsbTransferResult.Ok(8), await blocked.WaitAsync(Quick));
        Assert.All(bufferB, b => Assert.Equal(0xBB, b));
        Assert.False(guest.Completion.IsCompleted);
    }

    [Fact]
    public async Task A_caller_blocking_for_a_transfer_answered_in_the_same_read_is_rescued()
    {
        var (guest, host, remote) = await AttachAsync();
        await using var _g = guest;
        await using var _h = host;
        var (blocked, _, bufferB) = StartAWaitingForB(remote);
        var requestA = await host.ExpectAsync(T.BulkPacket);
        var requestB = await host.ExpectAsync(T.BulkPacket);

        // Both answers in one write: B's result is queued right behind A's on the same drainer, which A's caller holds.
        host.Do(c =>
        {
            AnswerBulkIn(c, requestA, 0xAA);
            AnswerBulkIn(c, requestB, 0xBB);
        });
        Assert.Equal(UsbTransferResult.Ok(8), await blocked.WaitAsync(Quick));
        Assert.All(bufferB, b => Assert.Equal(0xBB, b));
    }

    [Fact]
    public async Task What_a_blocking_caller_sent_before_it_blocked_still_reaches_the_peer()
    {
        var (guest, host, remote) = await AttachAsync();
        await using var _g = guest;
        await using var _h = host;
        var a = remote.TransferAsync(0x81, new byte[8], default);
        var d = remote.TransferAsync(0x81, new byte[8], default);
        // A's caller submits C and waits for it synchronously. A and D are answered in one write, so they are delivered
        // in one round, inside a send batch: C's request waits in the send queue for the end of the round, which
        // comes only after A's caller returns.
        var blocked = a.ContinueWith(_ => remote.TransferAsync(0x81, new byte[4], default).GetAwaiter().GetResult(),
            TaskContinuationOptions.ExecuteSynchronously);
        var requestA = await host.ExpectAsync(T.BulkPacket);
        var requestD = await host.ExpectAsync(T.BulkPacket);
        host.Do(c =>
        {
            AnswerBulkIn(c, requestA, 0xAA);
            AnswerBulkIn(c, requestD, 0xDD);
        });

        var requestC = await host.ExpectAsync(T.BulkPacket);
        Assert.Equal(4u, requestC.As<BulkPacketHeader>().Length);
        host.Do(c => AnswerBulkIn(c, requestC, 0xCC));
        Assert.Equal(UsbTransferResult.Ok(4), await blocked.WaitAsync(Quick));
        Assert.Equal(UsbTransferResult.Ok(8), await d.WaitAsync(Quick));
    }

    [Fact]
    public async Task Many_transfers_answered_in_one_read_complete_once_each_with_their_own_data()
    {
        var (guest, host, remote) = await AttachAsync();
        await using var _g = guest;
        await using var _h = host;
        const int Count = 64;
        var buffers = Enumerable.Range(0, Count).Select(_ => new byte[1]).ToArray();
        var completions = new int[Count];
        var transfers = Enumerable.Range(0, Count).Select(i => remote.TransferAsync(0x81, buffers[i], default).ContinueWith(t =>
        {
            Interlocked.Increment(ref completions[i]);
            return t.Result;
        }, TaskContinuationOptions.ExecuteSynchronously)).ToArray();
        var requests = new List<ScriptedPeer.Received>();
        for (var i = 0; i < Count; i++)
            requests.Add(await host.ExpectAsync(T.BulkPacket));
        host.Do(c =>
        {
            for (var i = Count - 1; i >= 0; i--) // in reverse, all in one write
                AnswerBulkIn(c, requests[i], (byte)i);
        });
        var results = await Task.WhenAll(transfers).WaitAsync(Quick);
        Assert.All(results, r => Assert.Equal(UsbTransferResult.Ok(1), r));
        Assert.All(completions, n => Assert.Equal(1, n));
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (byte)i), buffers.Select(b => b[0]));
        Assert.Equal(0, guest.PendingRequestCount);
    }
}
