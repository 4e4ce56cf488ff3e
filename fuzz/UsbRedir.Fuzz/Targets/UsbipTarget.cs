using UsbRedir.Controllers.Usbip;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The USB/IP URB-phase decoder (<see cref="UsbipCommandDecoder"/>, what vhci_hcd sends): the first four bytes say
/// which endpoints are isochronous (one bit per endpoint address, as the device's configuration would), one more seeds
/// the chunk sizes, the rest is the stream. Every CMD_SUBMIT is answered the way a failed URB is (its RET_SUBMIT), so
/// the reply encoder meets every length the decoder lets through.
/// </summary>
/// <remarks>Expected: none. A malformed PDU is an event (<see cref="UsbipMalformedStream"/>) and ends the stream.</remarks>
internal static class UsbipTarget
{
    public static void Run(byte[] data)
    {
        var input = new FuzzInput(data);
        var isoMask = input.UInt32();
        var chunkSeed = input.Byte();
        var stream = input.Rest();
        // Bits 0..15: OUT endpoints 0..15; bits 16..31: IN endpoints 0..15.
        var decoder = new UsbipCommandDecoder(address => (isoMask >> ((address & 0x0f) + ((address & 0x80) != 0 ? 16 : 0)) & 1) != 0);
        var chunks = new Chunker(chunkSeed);
        var faulted = false;
        for (var pos = 0; pos < stream.Length;)
        {
            var n = Math.Min(chunks.Next(), stream.Length - pos);
            var events = decoder.Receive(stream.AsSpan(pos, n));
            pos += n;
            Invariant.Check(decoder.BufferedBytes <= pos, $"the decoder holds {decoder.BufferedBytes} bytes after {pos} arrived");
            foreach (var e in events)
            {
                Invariant.Check(!faulted, "an event after the stream was declared malformed");
                switch (e)
                {
                    case UsbipSubmitCommand submit:
                        Invariant.Check(submit.DirectionIn ? submit.OutData.Length == 0 : submit.OutData.Length == submit.TransferBufferLength,
                            $"submit {submit.Seqnum}: {submit.OutData.Length} OUT bytes for a {submit.TransferBufferLength}-byte transfer");
                        var reply = UsbipUrbTranslator.Failure(submit);
                        var expected = UsbipLimits.HeaderSize + (submit.IsIsochronous ? submit.IsoPackets.Count * UsbipLimits.IsoPacketDescriptorSize : 0);
                        Invariant.Check(reply.Length == expected, $"a failure reply of {reply.Length} bytes, expected {expected}");
                        _ = submit.ToString();
                        break;
                    case UsbipUnlinkCommand unlink:
                        _ = unlink.ToString();
                        break;
                    case UsbipMalformedStream malformed:
                        Invariant.Check(!string.IsNullOrEmpty(malformed.Message) && malformed.StreamOffset <= pos, "a malformed-stream event without a message or past the input");
                        Invariant.Check(decoder.IsFaulted, "a malformed stream that did not fault the decoder");
                        faulted = true;
                        break;
                }
            }
        }
    }
}
