using UsbRedir.Fuzz.Targets;

namespace UsbRedir.Fuzz;

/// <summary>
/// Every fuzz target, by the name fuzz/run and the corpus folders (fuzz/corpus/NAME) use. A target takes the whole
/// input and returns normally for every input a parser must survive; it catches only the exceptions its parser
/// documents (named in each target's remarks), so anything else reaches SharpFuzz as a crash.
/// </summary>
/// <remarks>
/// To add a parser: write a target in Targets/ (the first input bytes choose modes, the rest is the parser's input),
/// add it here and add a few real inputs as fuzz/corpus/NAME/*; fuzz/run and the CI smoke test (FuzzSmokeTests) pick
/// up every target listed here.
/// </remarks>
internal static class FuzzTargets
{
    public static IReadOnlyDictionary<string, (Action<byte[]> Run, string Description)> All { get; } =
        new Dictionary<string, (Action<byte[]>, string)>(StringComparer.Ordinal)
        {
            ["codec"] = (CodecTarget.Run, "usbredir codec, both roles, random capabilities and chunking, output fed back"),
            ["filter"] = (FilterTarget.Run, "usbredir filter string parser, formatter and checker"),
            ["filter-xml"] = (FilterXmlTarget.Run, "libvirt <redirfilter> XML reader"),
            ["usbip"] = (UsbipTarget.Run, "USB/IP CMD_SUBMIT/CMD_UNLINK decoder and RET_SUBMIT encoder"),
            ["vhci-ctrl"] = (VhciCtrlTarget.Run, "/dev/vhci-ctrl event parser"),
            ["scsi"] = (ScsiDiskTarget.Run, "software disk: bulk-only transport and SCSI commands"),
            ["keyboard-script"] = (KeyboardScriptTarget.Run, "keyboard script parser (--keys)"),
            ["sysfs-descriptors"] = (SysfsDescriptorsTarget.Run, "enumeration engine's sysfs descriptors reader"),
            ["names"] = (NamesTarget.Run, "endpoints, device ids and busids, usb.ids, filter device descriptions"),
            ["trust-files"] = (TrustFilesTarget.Run, "known_servers, authorized_clients and the TLS directory's PEM files"),
        };

    /// <summary>Targets that are not parsers (not listed by --list, not run by default): the pipeline's own check.</summary>
    public static IReadOnlyDictionary<string, (Action<byte[]> Run, string Description)> Hidden { get; } =
        new Dictionary<string, (Action<byte[]>, string)>(StringComparer.Ordinal)
        {
            ["selftest"] = (SelfTestTarget.Run, "crashes for inputs that start with 'crash' (proves crashes are reported)"),
        };
}
