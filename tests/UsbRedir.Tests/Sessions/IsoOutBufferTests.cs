using UsbRedir.Sessions;

namespace UsbRedir.Tests.Sessions;

/// <summary>The OUT ring on its own, for the shapes the session tests do not reach: odd halves and a ring of one.</summary>
public class IsoOutBufferTests
{
    private static (IsoOutOutcome Outcome, List<IsoOutBuffer.Transfer> Submitted) Add(IsoOutBuffer buffer, int n)
    {
        var submit = new List<IsoOutBuffer.Transfer>();
        return (buffer.Add((ulong)n, [(byte)n], submit), submit);
    }

    [Fact]
    public void A_half_that_is_not_whole_transfers_starts_streaming_and_submits_each_transfer_when_full()
    {
        var buffer = new IsoOutBuffer(packetsPerTransfer: 5, transfers: 3, packetSize: 8); // 15 packets: prefill 7
        Assert.Equal(7, buffer.PrefillPackets);
        for (var n = 0; n < 6; n++)
            Assert.Empty(Add(buffer, n).Submitted);
        Assert.False(buffer.Streaming);
        var (_, first) = Add(buffer, 6); // the 7th packet: streaming starts, the one full transfer goes
        Assert.True(buffer.Streaming);
        var t = Assert.Single(first);
        Assert.Equal(0ul, t.FirstId);
        Assert.Equal(5, t.Packets().Length);
        Assert.Equal(2, buffer.Buffered);
        for (var n = 7; n < 9; n++)
            Assert.Empty(Add(buffer, n).Submitted);
        Assert.Equal(5ul, Assert.Single(Add(buffer, 9).Submitted).FirstId);
        Assert.Equal(2, buffer.InFlight);
    }

    [Fact]
    public void A_ring_of_one_packet_plays_each_packet_and_drops_while_it_is_at_the_device()
    {
        var buffer = new IsoOutBuffer(1, 1, 8);
        Assert.Equal(1, buffer.PrefillPackets);
        var (_, submitted) = Add(buffer, 0);
        var t = Assert.Single(submitted);
        Assert.Equal(IsoOutOutcome.Overflow, Add(buffer, 1).Outcome); // half of one packet is none: nothing more to drop
        Assert.True(buffer.Completed(t)); // nothing left at the device: an underflow
        Assert.False(buffer.Streaming);
        Assert.Single(Add(buffer, 2).Submitted);
        Assert.False(buffer.Completed(new IsoOutBuffer.Transfer(1, 8))); // one it never handed out changes nothing
        Assert.Equal(1, buffer.InFlight);
    }

    [Fact]
    public void A_packet_larger_than_the_slots_is_refused()
    {
        var buffer = new IsoOutBuffer(2, 2, 8);
        Assert.Throws<ArgumentException>(() => buffer.Add(0, new byte[9], []));
    }
}
