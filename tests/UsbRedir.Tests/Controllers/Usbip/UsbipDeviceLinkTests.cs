using UsbRedir.Controllers.Urbs;
using UsbRedir.Controllers.Usbip;
using UsbRedir.Devices;
using UsbRedir.Sessions;
using UsbRedir.Tests.Sessions;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Controllers.Usbip;

/// <summary>The USB/IP server side of a vhci_hcd port, driven over a real socketpair by a client playing vhci_hcd.</summary>
public sealed class UsbipDeviceLinkTests : IAsyncLifetime
{
    private static readonly byte[] GetDeviceDescriptor = [0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00];
    private static readonly byte[] SetConfiguration1 = [0x00, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00];
    private static readonly byte[] ClearHaltEp81 = [0x02, 0x01, 0x00, 0x00, 0x81, 0x00, 0x00, 0x00];
    private static readonly byte[] VendorIn = [0xC0, 0x33, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00];

    private readonly LoopbackTestDevice _device = new();
    private CompletionCountingDevice _counting = null!;
    private readonly SessionLog _log = new();
    private FakeVhciClient _client = null!;
    private UsbipDeviceLink _link = null!;

    public Task InitializeAsync()
    {
        var (client, server) = FakeVhciClient.Create();
        _client = client;
        _counting = new CompletionCountingDevice(_device);
        _link = new UsbipDeviceLink(new UrbRouter(_counting), server, _log);
        _link.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _link.DisposeAsync();
        _client.Dispose();
    }

    [Fact]
    public void Enumerates_configures_and_moves_bulk_data()
    {
        var seq = _client.Submit(true, 0, 18, GetDeviceDescriptor);
        var reply = _client.Read()!;
        Assert.Equal((3u, seq, 0, 18), (reply.Command, reply.Seqnum, reply.Status, reply.ActualLength));
        Assert.Equal(LoopbackTestDevice.Descriptor, reply.Data);

        _client.Submit(false, 0, 0, SetConfiguration1);
        Assert.Equal(0, _client.Read()!.Status);
        Assert.Equal(1, _device.ActiveConfiguration);
        // SET_CONFIGURATION went to the dedicated method, not to the device as a control transfer.
        Assert.DoesNotContain(_device.ControlRequests, r => r.Request == 0x09);

        _client.Submit(false, 1, 5, outData: [1, 2, 3, 4, 5]);
        Assert.Equal(5, _client.Read()!.ActualLength);
        _client.Submit(true, 1, 512);
        var bulkIn = _client.Read()!;
        Assert.Equal((0, 5), (bulkIn.Status, bulkIn.ActualLength));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, bulkIn.Data);

        _client.Submit(false, 0, 0, ClearHaltEp81);
        Assert.Equal(0, _client.Read()!.Status);
        Assert.Equal(1, _device.ClearHalts);

        _client.Submit(true, 0, 4, VendorIn);
        Assert.Equal(-32, _client.Read()!.Status);
    }

    [Fact]
    public void A_seqnum_used_again_after_an_unlink_gets_its_own_reply_not_the_late_one_of_the_unlinked_urb()
    {
        _client.Submit(false, 0, 0, SetConfiguration1);
        _client.Read();
        var release = _counting.HoldNextTransfer();
        var first = _client.Submit(true, 1, 4);
        var unlink = _client.Unlink(first);
        var unlinked = _client.Read()!;
        Assert.Equal((unlink, -104), (unlinked.Seqnum, unlinked.Status)); // -ECONNRESET: the URB is the client's again

        // The client may use the seqnum again (vhci_hcd does once its counter wraps); this URB waits for data.
        _client.Submit(true, 1, 4, seqnum: first);
        release.SetResult(); // only now does the device finish the unlinked URB: its result must not answer the new one
        _counting.WaitForFinished(1);
        var write = _client.Submit(false, 1, 4, outData: [1, 2, 3, 4]);

        var replies = new[] { _client.Read()!, _client.Read()! }.ToDictionary(r => r.Seqnum);
        Assert.Equal(2, replies.Count);
        Assert.Equal((0, 4), (replies[write].Status, replies[write].ActualLength));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, replies[first].Data);
    }

    [Fact]
    public void A_short_read_with_short_not_ok_fails_with_eremoteio()
    {
        _client.Submit(false, 0, 0, SetConfiguration1);
        _client.Read();
        _client.Submit(false, 1, 3, outData: [7, 7, 7]);
        _client.Read();
        _client.Submit(true, 1, 512, flags: (uint)UsbipTransferFlags.ShortNotOk);
        var reply = _client.Read()!;
        Assert.Equal((-121, 3), (reply.Status, reply.ActualLength));
    }

    [Fact]
    public void Unlinking_a_running_urb_answers_econnreset_at_once_and_never_sends_its_result()
    {
        _client.Submit(false, 0, 0, SetConfiguration1);
        _client.Read();
        var pending = _client.Submit(true, 2, 8); // interrupt IN: waits until the device has something
        var unlink = _client.Unlink(pending);
        var reply = _client.Read()!;
        Assert.Equal((4u, unlink, -104), (reply.Command, reply.Seqnum, reply.Status));

        // Let the cancelled transfer finish inside the device: its result must be dropped, not sent.
        _counting.WaitForFinished(1);
        _device.QueueInterrupt(42);
        var next = _client.Submit(true, 2, 8);
        var data = _client.Read()!;
        Assert.Equal((3u, next), (data.Command, data.Seqnum));
        Assert.Equal(new byte[] { 42 }, data.Data);
        Assert.Equal(0, _link.InFlight);
    }

    [Fact]
    public void Unlinking_an_answered_urb_gets_status_0()
    {
        var seq = _client.Submit(true, 0, 18, GetDeviceDescriptor);
        Assert.Equal(seq, _client.Read()!.Seqnum);
        var unlink = _client.Unlink(seq);
        var reply = _client.Read()!;
        Assert.Equal((4u, unlink, 0), (reply.Command, reply.Seqnum, reply.Status));
    }

    // 600 commands go out back to back, as vhci_tx sends them under load; the client reads the replies on its own
    // thread meanwhile, as vhci_rx does (see FakeVhciClient: a client reading only after the burst deadlocks with the link).
    [Fact]
    public void Racing_unlinks_never_produce_a_ret_submit_after_an_econnreset()
    {
        _client.Submit(false, 0, 0, SetConfiguration1);
        _client.Read();
        const int rounds = 300;
        var urbs = new List<(uint Urb, uint Unlink)>();
        for (var i = 0; i < rounds; i++)
        {
            // Every other URB has data waiting, so its completion races the unlink sent right behind it.
            if (i % 2 == 0) _device.QueueInterrupt((byte)i);
            var urb = _client.Submit(true, 2, 8);
            urbs.Add((urb, _client.Unlink(urb)));
        }

        var answered = new HashSet<uint>();
        var cancelled = new HashSet<uint>();
        var unlinkOf = urbs.ToDictionary(u => u.Unlink, u => u.Urb);
        for (var remaining = rounds; remaining > 0;)
        {
            var r = _client.Read() ?? throw new Xunit.Sdk.XunitException("the link closed the connection");
            if (r.Command == 3)
            {
                Assert.DoesNotContain(r.Seqnum, cancelled); // vhci_hcd would drop the connection here
                Assert.True(answered.Add(r.Seqnum), $"two RET_SUBMITs for {r.Seqnum}");
                continue;
            }
            var urb = unlinkOf[r.Seqnum];
            if (r.Status == -104)
            {
                Assert.DoesNotContain(urb, answered);
                cancelled.Add(urb);
            }
            else
            {
                Assert.Equal(0, r.Status);
                Assert.Contains(urb, answered); // status 0 only after its RET_SUBMIT was sent
            }
            remaining--;
        }
        Assert.Equal(rounds, answered.Count + cancelled.Count);

        // The cancelled transfers finish inside the device after their RET_UNLINK; none of them may be answered.
        _counting.WaitForFinished(rounds);
        var probe = _client.Submit(true, 0, 18, GetDeviceDescriptor);
        UsbipWire.Ret reply;
        while ((reply = _client.Read() ?? throw new Xunit.Sdk.XunitException("the link closed the connection")).Seqnum != probe)
            Assert.DoesNotContain(reply.Seqnum, cancelled);
        Assert.Equal((3u, 0), (reply.Command, reply.Status));
        Assert.Equal(0, _link.InFlight);
    }

    [Fact]
    public async Task A_reply_that_never_comes_fails_the_read_naming_the_unanswered_command()
    {
        // The harness's own guarantee: a lost reply fails the test instead of hanging the test host.
        var (client, server) = FakeVhciClient.Create(deadline: TimeSpan.FromMilliseconds(300));
        await using var link = new UsbipDeviceLink(new UrbRouter(new LoopbackTestDevice()), server);
        using (client)
        {
            link.Start();
            client.Submit(false, 0, 0, SetConfiguration1);
            Assert.Equal(0, client.Read()!.Status);
            var pending = client.Submit(true, 2, 8); // interrupt IN with nothing queued: no reply until it is unlinked
            var failure = Assert.Throws<Xunit.Sdk.XunitException>(() => client.Read());
            Assert.Equal($"nothing from the link within 300 ms; awaited a reply to one of: CMD_SUBMIT {pending} (IN ep 2, 8 bytes)", failure.Message);
        }
    }

    [Fact]
    public async Task A_malformed_pdu_closes_the_connection_with_the_reason()
    {
        var bad = UsbipWire.CmdUnlink(1, 1);
        bad[3] = 9;
        _client.Send(bad);
        Assert.True(_client.AtEndOfStream());
        Assert.Contains("protocol error: unknown USB/IP command 0x00000009", await _link.Completion.WaitAsync(TestDeadline.Default));
        Assert.Contains(_log.Entries, e => e.Level == SessionLogLevel.Error && e.Message.Contains("malformed PDU at byte 0"));
    }

    [Fact]
    public async Task The_client_closing_ends_the_link()
    {
        _client.Submit(false, 0, 0, SetConfiguration1);
        _client.Read();
        _client.Submit(true, 2, 8);
        _client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.Equal("the USB/IP client closed the connection", await _link.Completion.WaitAsync(TestDeadline.Default));
        Assert.Equal(0, _link.InFlight);
    }
}
