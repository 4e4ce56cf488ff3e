using System.Buffers.Binary;
using System.Diagnostics;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Controllers.VhciCtrl;
using UsbRedir.Devices;
using UsbRedir.Tests.Support;
using static UsbRedir.Controllers.VhciCtrl.VhciCtrlAbi;

namespace UsbRedir.Tests.Controllers;

/// <summary>A fact that needs gcc and the Linux uapi headers (Debian: gcc, linux-libc-dev); skipped only outside tests/run.</summary>
public sealed class GccFactAttribute : FactAttribute
{
    public GccFactAttribute() => Skip = Peers.SkipUnless(Peers.HasCommand("gcc") && File.Exists("/usr/include/linux/types.h"), "gcc / linux-libc-dev");
}

/// <summary>
/// The C# view of the /dev/vhci-ctrl ABI against the real header (compiled by gcc), and the sans-IO parser and encoder
/// on records laid out as the kernel writes them.
/// </summary>
public sealed class VhciCtrlAbiTests
{
    private readonly VhciCtrlEventParser _parser = new(maxTransfer: 4 << 20, maxIsoPackets: 1024);

    [GccFact]
    public void Constants_sizes_and_offsets_match_the_uapi_header_as_gcc_compiles_it()
    {
        var layout = CompileLayout();
        var expected = new Dictionary<string, long>
        {
            ["USBREDIR_VHCI_ABI_VERSION"] = VhciCtrlAbi.Version,
            ["USBREDIR_VHCI_MAX_PORTS"] = MaxPorts,
            ["USBREDIR_VHCI_IOC_CREATE"] = IocCreate,
            ["USBREDIR_VHCI_IOC_ABI_VERSION"] = IocAbiVersion,
            ["USBREDIR_VHCI_EV_SUBMIT"] = EventSubmit,
            ["USBREDIR_VHCI_EV_UNLINK"] = EventUnlink,
            ["USBREDIR_VHCI_EV_PORT"] = EventPort,
            ["USBREDIR_VHCI_CMD_COMPLETE"] = CommandComplete,
            ["USBREDIR_VHCI_CMD_CONNECT"] = CommandConnect,
            ["USBREDIR_VHCI_CMD_DISCONNECT"] = CommandDisconnect,
            ["USBREDIR_VHCI_PORT_RESET"] = PortReset,
            ["USBREDIR_VHCI_SPEED_LOW"] = SpeedLow,
            ["USBREDIR_VHCI_SPEED_FULL"] = SpeedFull,
            ["USBREDIR_VHCI_SPEED_HIGH"] = SpeedHigh,
            ["USBREDIR_VHCI_URB_SHORT_NOT_OK"] = (long)UrbFlags.ShortNotOk,
            ["USBREDIR_VHCI_URB_ISO_ASAP"] = (long)UrbFlags.IsoAsap,
            ["USBREDIR_VHCI_URB_ZERO_PACKET"] = (long)UrbFlags.ZeroPacket,
            ["USBREDIR_VHCI_READ_MIN(4 << 20, 1024)"] = ReadBufferSize(4 << 20, 1024),
            ["sizeof.usbredir_vhci_create"] = CreateSize,
            ["offsetof.usbredir_vhci_create.abi_version"] = CreateFields.AbiVersion,
            ["offsetof.usbredir_vhci_create.ports"] = CreateFields.Ports,
            ["offsetof.usbredir_vhci_create.flags"] = CreateFields.Flags,
            ["offsetof.usbredir_vhci_create.busnum"] = CreateFields.BusNumber,
            ["offsetof.usbredir_vhci_create.max_transfer"] = CreateFields.MaxTransfer,
            ["offsetof.usbredir_vhci_create.max_iso_packets"] = CreateFields.MaxIsoPackets,
            ["offsetof.usbredir_vhci_create.max_inflight"] = CreateFields.MaxInflight,
            ["offsetof.usbredir_vhci_create.bus_id"] = CreateFields.BusId,
            ["sizeof.usbredir_vhci_hdr"] = Header.Size,
            ["offsetof.usbredir_vhci_hdr.type"] = Header.Type,
            ["offsetof.usbredir_vhci_hdr.port"] = Header.Port,
            ["offsetof.usbredir_vhci_hdr.length"] = Header.Length,
            ["offsetof.usbredir_vhci_hdr.id"] = Header.Id,
            ["sizeof.usbredir_vhci_event_submit"] = Submit.Size,
            ["offsetof.usbredir_vhci_event_submit.address"] = Submit.Address,
            ["offsetof.usbredir_vhci_event_submit.endpoint"] = Submit.Endpoint,
            ["offsetof.usbredir_vhci_event_submit.xfer_type"] = Submit.TransferType,
            ["offsetof.usbredir_vhci_event_submit.flags"] = Submit.Flags,
            ["offsetof.usbredir_vhci_event_submit.setup"] = Submit.Setup,
            ["offsetof.usbredir_vhci_event_submit.transfer_length"] = Submit.TransferLength,
            ["offsetof.usbredir_vhci_event_submit.interval"] = Submit.Interval,
            ["offsetof.usbredir_vhci_event_submit.iso_packets"] = Submit.IsoPackets,
            ["offsetof.usbredir_vhci_event_submit.start_frame"] = Submit.StartFrame,
            ["offsetof.usbredir_vhci_event_submit.data_length"] = Submit.DataLength,
            ["sizeof.usbredir_vhci_iso_packet"] = IsoPacketSize,
            ["sizeof.usbredir_vhci_event_unlink"] = Unlink.Size,
            ["offsetof.usbredir_vhci_event_unlink.status"] = Unlink.Status,
            ["sizeof.usbredir_vhci_event_port"] = VhciCtrlAbi.Port.Size,
            ["offsetof.usbredir_vhci_event_port.event"] = VhciCtrlAbi.Port.Event,
            ["offsetof.usbredir_vhci_event_port.status"] = VhciCtrlAbi.Port.Status,
            ["offsetof.usbredir_vhci_event_port.change"] = VhciCtrlAbi.Port.Change,
            ["sizeof.usbredir_vhci_cmd_complete"] = Complete.Size,
            ["offsetof.usbredir_vhci_cmd_complete.status"] = Complete.Status,
            ["offsetof.usbredir_vhci_cmd_complete.actual_length"] = Complete.ActualLength,
            ["offsetof.usbredir_vhci_cmd_complete.iso_packets"] = Complete.IsoPackets,
            ["offsetof.usbredir_vhci_cmd_complete.error_count"] = Complete.ErrorCount,
            ["offsetof.usbredir_vhci_cmd_complete.start_frame"] = Complete.StartFrame,
            ["offsetof.usbredir_vhci_cmd_complete.data_length"] = Complete.DataLength,
            ["sizeof.usbredir_vhci_iso_result"] = IsoResultSize,
            ["sizeof.usbredir_vhci_cmd_connect"] = Connect.Size,
            ["offsetof.usbredir_vhci_cmd_connect.speed"] = Connect.Speed,
            ["sizeof.usbredir_vhci_cmd_disconnect"] = Connect.Size,
        };

        Assert.Equal(expected.Keys.Order(), layout.Keys.Order());
        foreach (var (name, value) in expected)
            Assert.True(layout[name] == value, $"{name}: the header says {layout[name]}, VhciCtrlAbi says {value}");
    }

    [Fact]
    public void A_submit_with_out_data_parses_field_by_field()
    {
        var data = new byte[] { 0x55, 0x53, 0x42, 0x43, 1, 2, 3 };
        var record = SubmitRecord(id: 42, port: 3, endpoint: 0x02, type: UrbTransferType.Bulk, transferLength: data.Length, data: data,
            flags: UrbFlags.ZeroPacket, address: 5, interval: 0);

        var ev = Assert.IsType<VhciCtrlSubmitEvent>(_parser.Parse(record));

        Assert.Equal((42ul, 3, (byte)5, (byte)0x02, UrbTransferType.Bulk, UrbFlags.ZeroPacket, data.Length), (ev.Id, ev.Port, ev.Address, ev.Endpoint, ev.Type, ev.Flags, ev.TransferLength));
        Assert.Equal(record.Length, ev.Length);
        Assert.Equal(0, ev.Length % 8);
        Assert.Equal(data, record.AsSpan(ev.DataOffset, ev.DataLength).ToArray());
    }

    [Fact]
    public void A_control_submit_carries_its_setup_packet_and_an_iso_submit_its_packets()
    {
        var control = SubmitRecord(1, 1, 0x80, UrbTransferType.Control, 18, [], setup: [0x80, 6, 0, 1, 0, 0, 18, 0]);
        var setup = Assert.IsType<VhciCtrlSubmitEvent>(_parser.Parse(control)).Setup;
        Assert.Equal(new UsbRedir.Devices.UsbSetupPacket(0x80, 6, 0x0100, 0, 18), setup);

        var iso = SubmitRecord(2, 1, 0x83, UrbTransferType.Isochronous, 384, [], isoPackets: [(0, 192), (192, 192)], startFrame: 77);
        var ev = Assert.IsType<VhciCtrlSubmitEvent>(_parser.Parse(iso));
        Assert.Equal([new UsbIsoPacket(0, 192), new UsbIsoPacket(192, 192)], ev.IsoPackets);
        Assert.Equal(77, ev.StartFrame);
    }

    [Fact]
    public void Unlink_port_and_unknown_events_parse_and_several_records_follow_each_other()
    {
        var unlink = new byte[Unlink.Size];
        WriteHeader(unlink, EventUnlink, 2, 9);
        BinaryPrimitives.WriteInt32LittleEndian(unlink.AsSpan(Unlink.Status), -104);
        var port = new byte[VhciCtrlAbi.Port.Size];
        WriteHeader(port, EventPort, 4, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(port.AsSpan(VhciCtrlAbi.Port.Event), PortReset);
        BinaryPrimitives.WriteUInt16LittleEndian(port.AsSpan(VhciCtrlAbi.Port.Status), 0x0511);
        var future = new byte[32];
        WriteHeader(future, 0x0077, 1, 0);
        var buffer = unlink.Concat(future).Concat(port).ToArray();

        var first = _parser.Parse(buffer);
        var second = _parser.Parse(buffer.AsSpan(first.Length));
        var third = _parser.Parse(buffer.AsSpan(first.Length + second.Length));

        Assert.Equal(new VhciCtrlUnlinkEvent(2, 24, 9, -104), first);
        Assert.Equal(new VhciCtrlUnknownEvent(1, 32, 0x0077), second);
        Assert.Equal(new VhciCtrlPortEvent(4, 24, PortReset, 0x0511, 0), third);
    }

    [Theory]
    [InlineData("length not a multiple of 8")]
    [InlineData("length beyond what was read")]
    [InlineData("out data length differs from the transfer length")]
    [InlineData("in urb carrying data")]
    [InlineData("iso packet beyond the buffer")]
    [InlineData("transfer longer than the module's limit")]
    [InlineData("short unlink")]
    public void Malformed_records_are_a_protocol_error_naming_the_module_mismatch(string defect)
    {
        var record = defect switch
        {
            "length not a multiple of 8" => WithLength(SubmitRecord(1, 1, 0x81, UrbTransferType.Bulk, 64, []), 68),
            "length beyond what was read" => WithLength(SubmitRecord(1, 1, 0x81, UrbTransferType.Bulk, 64, []), 128),
            "out data length differs from the transfer length" => SubmitRecord(1, 1, 0x01, UrbTransferType.Bulk, 64, new byte[8]),
            "in urb carrying data" => SubmitRecord(1, 1, 0x81, UrbTransferType.Bulk, 8, new byte[8]),
            "iso packet beyond the buffer" => SubmitRecord(1, 1, 0x83, UrbTransferType.Isochronous, 100, [], isoPackets: [(64, 64)]),
            "transfer longer than the module's limit" => SubmitRecord(1, 1, 0x81, UrbTransferType.Bulk, (4 << 20) + 1, []),
            "short unlink" => WithType(new byte[16], EventUnlink),
            _ => throw new ArgumentOutOfRangeException(nameof(defect)),
        };

        var error = Assert.Throws<UsbRedirException>(() => _parser.Parse(record));

        Assert.Equal("VhciEventMalformed", error.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.ProtocolError, error.Category);
        Assert.Contains("rebuild and reload", error.RecommendedAction);
    }

    [Fact]
    public void Commands_are_laid_out_as_the_kernel_reads_them()
    {
        var connect = VhciCtrlCommands.Connect(7, SpeedHigh);
        Assert.Equal("0201070018000000000000000000000003000000" + "00000000", Convert.ToHexString(connect));
        Assert.Equal("0301070018000000000000000000000000000000" + "00000000", Convert.ToHexString(VhciCtrlCommands.Disconnect(7)));

        var complete = new byte[VhciCtrlCommands.CompletePayloadOffset(1) + 4];
        var length = VhciCtrlCommands.WriteComplete(complete, id: 0x0102030405060708, status: -32, actualLength: 4, isoPackets: 1,
            errorCount: 1, startFrame: 9, dataLength: 4);
        VhciCtrlCommands.WriteIsoResult(complete, 0, 4, -18);

        Assert.Equal(complete.Length, length);
        Assert.Equal(CommandComplete, BinaryPrimitives.ReadUInt16LittleEndian(complete));
        Assert.Equal((uint)length, BinaryPrimitives.ReadUInt32LittleEndian(complete.AsSpan(Header.Length)));
        Assert.Equal(0x0102030405060708ul, BinaryPrimitives.ReadUInt64LittleEndian(complete.AsSpan(Header.Id)));
        Assert.Equal([-32, 4, 1, 1, 9, 4, 0, 0],
            Enumerable.Range(0, 8).Select(i => BinaryPrimitives.ReadInt32LittleEndian(complete.AsSpan(Complete.Status + 4 * i))));
        Assert.Equal(-18, BinaryPrimitives.ReadInt32LittleEndian(complete.AsSpan(Complete.Size + 4)));
    }

    private static byte[] SubmitRecord(ulong id, int port, byte endpoint, UrbTransferType type, int transferLength, byte[] data,
        UrbFlags flags = UrbFlags.None, byte address = 1, int interval = 0, byte[]? setup = null,
        (int Offset, int Length)[]? isoPackets = null, int startFrame = 0)
    {
        isoPackets ??= [];
        var unpadded = Submit.Size + IsoPacketSize * isoPackets.Length + data.Length;
        var record = new byte[(unpadded + 7) & ~7];
        WriteHeader(record, EventSubmit, port, id);
        record[Submit.Address] = address;
        record[Submit.Endpoint] = endpoint;
        record[Submit.TransferType] = (byte)type;
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(Submit.Flags), (uint)flags);
        setup?.CopyTo(record, Submit.Setup);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(Submit.TransferLength), transferLength);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(Submit.Interval), interval);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(Submit.IsoPackets), isoPackets.Length);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(Submit.StartFrame), startFrame);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(Submit.DataLength), data.Length);
        for (var i = 0; i < isoPackets.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(Submit.Size + i * 8), isoPackets[i].Offset);
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(Submit.Size + i * 8 + 4), isoPackets[i].Length);
        }
        data.CopyTo(record, Submit.Size + IsoPacketSize * isoPackets.Length);
        return record;
    }

    private static void WriteHeader(byte[] record, ushort type, int port, ulong id)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(record, type);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(2), (ushort)port);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)record.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(8), id);
    }

    private static byte[] WithLength(byte[] record, uint length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), length);
        return record;
    }

    private static byte[] WithType(byte[] record, ushort type)
    {
        WriteHeader(record, type, 1, 1);
        return record;
    }

    private static Dictionary<string, long> CompileLayout()
    {
        var exe = NativeHarness.Build("vhci_abi_layout.c");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        p.WaitForExit();
        return lines.Select(l => l.Split(' ')).ToDictionary(f => string.Join(' ', f[..^1]), f => long.Parse(f[^1]));
    }
}
