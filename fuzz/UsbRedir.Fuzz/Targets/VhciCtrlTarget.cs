using UsbRedir.Controllers.VhciCtrl;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The /dev/vhci-ctrl event parser (<see cref="VhciCtrlEventParser"/>): the input is what one read() returned, walked
/// record by record as the controller's read loop does, with the limits the kernel module reports (4 MiB, 1024 iso packets).
/// </summary>
/// <remarks>Expected: <see cref="UsbRedirException"/> VhciEventMalformed, which ends the walk (the controller fails).</remarks>
internal static class VhciCtrlTarget
{
    private static readonly VhciCtrlEventParser Parser = new(maxTransfer: 4 << 20, maxIsoPackets: 1024);

    public static void Run(byte[] data)
    {
        for (var offset = 0; offset < data.Length;)
        {
            var record = data.AsSpan(offset);
            VhciCtrlEvent ev;
            try
            {
                ev = Parser.Parse(record);
            }
            catch (UsbRedirException e) when (e.ErrorId == "VhciEventMalformed")
            {
                Invariant.Check(e.Category == UsbRedirErrorCategory.ProtocolError && !string.IsNullOrEmpty(e.RecommendedAction), "a malformed event without its category or fix");
                return;
            }
            Invariant.Check(ev.Length >= VhciCtrlAbi.Header.Size && ev.Length <= record.Length && ev.Length % 8 == 0,
                $"an event of {ev.Length} bytes from a {record.Length}-byte read");
            if (ev is VhciCtrlSubmitEvent submit)
            {
                Invariant.Check(submit.DataOffset + (long)submit.DataLength <= ev.Length, $"submit data {submit.DataOffset}+{submit.DataLength} beyond its {ev.Length}-byte record");
                foreach (var p in submit.IsoPackets)
                    Invariant.Check(p.Offset >= 0 && p.Length >= 0 && (long)p.Offset + p.Length <= submit.TransferLength, "an iso packet outside its transfer");
                _ = record.Slice(submit.DataOffset, submit.DataLength).Length;
            }
            _ = ev.ToString();
            offset += ev.Length;
        }
    }
}
