using System.Buffers.Binary;
using System.Text;
using UsbRedir.Controllers.VhciCtrl;
using UsbRedir.Devices;
using UsbRedir.Protocol;
using UsbRedir.Tests.Controllers.Usbip;

namespace UsbRedir.Fuzz;

/// <summary>
/// Writes the seed corpus (fuzz/corpus/TARGET/*; `UsbRedir.Fuzz --write-seeds REPO`): real inputs, each prefixed with
/// the mode bytes its target reads first. usbredir streams are what the codec's own send side encodes for a mass-storage
/// session in both roles (with all, none and 64-bit-id capabilities); sysfs descriptors are the captured ones under
/// tests/fixtures/sysfs; filters, XML, USB/IP and vhci-ctrl records are those the tests and the README use.
/// </summary>
internal static class SeedCorpus
{
    public static int Write(string repo)
    {
        var corpus = Path.Combine(repo, "fuzz", "corpus");
        var count = 0;
        void Seed(string target, string name, byte[] bytes)
        {
            var dir = Path.Combine(corpus, target);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
            count++;
        }

        foreach (var (caps, label) in new[] { (UsbRedirCapabilities.All, "all"), (UsbRedirCapabilities.None, "none"), (UsbRedirCapabilities.Ids64Bit | UsbRedirCapabilities.Filter, "ids64") })
        {
            // Prefix: role (1 = we are usb-host), our caps, in-place, chunk seed, hello first.
            Seed("codec", $"guest-{label}", [0, (byte)caps, 0, 7, 1, .. HostToGuest(caps)]);
            Seed("codec", $"host-{label}", [1, (byte)caps, 1, 3, 1, .. GuestToHost(caps)]);
        }
        Seed("codec", "host-queued", [1, 0xff, 0, 200, 0, .. GuestToHost(UsbRedirCapabilities.All)]);

        var device = SysfsDescriptors(repo, "pci0000:00/0000:00:05.0/usb2/2-4"); // a QEMU usb-storage (SuperSpeed)
        string[] filters =
        [
            "0x08,-1,-1,-1,1|-1,-1,-1,-1,0", "0x03,-1,-1,-1,0|-1,-1,-1,-1,1", "-1,0x0781,0x5567,-1,1|-1,-1,-1,-1,0",
            "0x03,0x046d,-1,0x0100,0|0x08,-1,-1,-1,1", "", "|||", "010,-0x1,8,0x0250,1",
        ];
        for (var i = 0; i < filters.Length; i++)
        {
            // flags, device from fields (class 0, HID boot keyboard interface), wire separators
            Seed("filter", $"wire-{i}", [0, 1, 0, 0, 0, 0x81, 0x07, 0x67, 0x55, 0x00, 0x01, 2, 8, 6, 0x50, 3, 1, 1, 0, .. Encoding.ASCII.GetBytes(filters[i])]);
        }
        Seed("filter", "qemu-descriptors", [1, 2, 18, .. device[..18], (byte)(device.Length - 18), 0, .. device[18..], 1, .. "-1:0x46f4:0x0001:-1:1|-1:-1:-1:-1:0"u8]);
        Seed("filter", "custom-separators", [2, 0, 3, 1, (byte)';', 2, (byte)'/', (byte)' ', .. "0x08;-1;-1;-1;1 / -1;-1;-1;-1;0"u8]);

        string[] xml =
        [
            "<redirfilter><usbdev class='0x08' vendor='0x1234' product='0xbeef' version='2.56' allow='yes'/><usbdev allow='no'/></redirfilter>",
            "<domain type='kvm'><devices><redirdev bus='usb' type='spicevmc'/><redirfilter>\n  <usbdev class='0x03' allow='no'/>\n  <usbdev vendor='0x0781' product='0x5567' version='-1' allow='yes'/>\n</redirfilter></devices></domain>",
            "<devices><redirfilter><usbdev class='010' version='1.0' allow='yes'/><usbdev class='-1' allow='no'/></redirfilter></devices>",
        ];
        for (var i = 0; i < xml.Length; i++)
            Seed("filter-xml", $"libvirt-{i}", Encoding.UTF8.GetBytes(xml[i]));

        // USB/IP: iso mask (IN endpoint 3 isochronous), chunk seed, then vhci_hcd's PDUs.
        Seed("usbip", "enumerate-and-bulk", [0, 0, 8, 0, 5,
            .. UsbipWire.CmdSubmit(1, dirIn: true, ep: 0, length: 18, setup: [0x80, 6, 0, 1, 0, 0, 18, 0]),
            .. UsbipWire.CmdSubmit(2, dirIn: false, ep: 2, length: 31, outData: CbwInquiry()),
            .. UsbipWire.CmdSubmit(3, dirIn: true, ep: 1, length: 36),
            .. UsbipWire.CmdUnlink(4, 3)]);
        Seed("usbip", "iso-in", [0, 0, 8, 0, 9, .. UsbipWire.CmdSubmit(5, dirIn: true, ep: 3, length: 384, interval: 1, iso: [(0, 192), (192, 192)])]);

        // vhci-ctrl: one read holding a port reset, a control submit, a bulk OUT with its data, an iso IN and an unlink.
        Seed("vhci-ctrl", "events", [
            .. VhciPort(1, VhciCtrlAbi.PortReset),
            .. VhciSubmit(1, 10, 0x80, 2, new UsbSetupPacket(0x80, 6, 0x0100, 0, 64), 64, []),
            .. VhciSubmit(1, 11, 0x02, 3, default, 31, CbwInquiry()),
            .. VhciSubmit(1, 12, 0x83, 0, default, 384, [], [(0, 192), (192, 192)]),
            .. VhciUnlink(1, 11)]);

        // SCSI: writable image, then whole commands as usb-storage sends them (op 1: tag, direction, length, cdb).
        byte[][] commands =
        [
            Command(0x100, true, 36, [0x12, 0, 0, 0, 36, 0]),                // INQUIRY
            Command(0x101, false, 0, [0x00, 0, 0, 0, 0, 0]),                 // TEST UNIT READY
            Command(0x102, true, 8, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]),      // READ CAPACITY(10)
            Command(0x103, true, 1024, [0x28, 0, 0, 0, 0, 2, 0, 0, 2, 0]),   // READ(10) 2 blocks at 2
            Command(0x104, false, 512, [0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0], 0x5a), // WRITE(10) 1 block at 5
            Command(0x105, true, 192, [0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 192, 0]), // MODE SENSE(10)
            Command(0x106, true, 18, [0x03, 0, 0, 0, 18, 0]),                // REQUEST SENSE
            Command(0x107, false, 0, [0x1b, 0, 0, 0, 2, 0]),                 // START STOP UNIT (eject)
            Command(0x108, true, 32, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]), // READ CAPACITY(16)
        ];
        Seed("scsi", "linux-probe", [0, .. commands.SelectMany(c => c)]);
        Seed("scsi", "read-only-write", [1, .. commands[4], .. commands[6]]);
        Seed("scsi", "bad-cbw-reset", [0, 0, .. new byte[31], 3, 64, 0, 6, 1, 4, 1, 4, 0, .. commands[0]]);

        string[] scripts = ["hello{ENTER}", "{CTRL+ALT+DEL}", "{WIN+r}notepad{ENTER}", "echo 'a|b' > /tmp/x\n", "{{}{}}{F5}{SHIFT+TAB}{ALT+!}", "{SHIFT}{PGDN}\t~"];
        for (var i = 0; i < scripts.Length; i++)
            Seed("keyboard-script", $"keys-{i}", Encoding.UTF8.GetBytes(scripts[i]));

        string[] names =
        [
            "\u0000127.0.0.1:4000", "\u0000[::1]:1138", "\u0000bob:1138", "\u0000::1", "\u00010.0.0.0:4000",
            "\u00012.0.2", "\u00012-1.3", "\u0001usb2", "\u00013",
            "\u0002# usb.ids\n0781  SanDisk Corp.\n\t5567  Cruzer Blade\n\t\t00  interface\n1209  Generic\n\t0001  pid.codes Test PID\nC 00  (Defined at Interface level)\n",
            "\u000308:0781:5567:0100 08/06/50", "\u00030x00:0x1209:0x0002:0x0100 03/01/01 03:00:00",
        ];
        for (var i = 0; i < names.Length; i++)
            Seed("names", $"text-{i}", Encoding.UTF8.GetBytes(names[i]));

        var key = "SHA256:" + string.Concat(Enumerable.Range(0, 32).Select(i => (i * 37 % 256).ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        Seed("trust-files", "known-servers", [0, .. Encoding.UTF8.GetBytes(
            $"# usbredir known_servers\nbob:1138 {key}\n[::1]:4000 {key.ToLowerInvariant()}\n\nbob:1139 SHA256:not-a-key\r\n")]);
        Seed("trust-files", "authorized-clients", [1, .. Encoding.UTF8.GetBytes(
            $"{key} name=\"alice's laptop\" filter=0x08,-1,-1,-1,1|-1,-1,-1,-1,0\nsubject=\"CN=bob,O=Example\" name=bob\n# comment\nsubject=CN=carol filter=\"-1,-1,-1,-1,1\" extra\n")]);
        // A self-signed certificate and its key, as the TLS tooling writes them (kept once written: a new key each time would only churn).
        if (!File.Exists(Path.Combine(corpus, "trust-files", "client-cert-and-key")))
        {
            using var rsa = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=usbredir-fuzz", rsa, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2036, 1, 1, 0, 0, 0, TimeSpan.Zero));
            var pem = certificate.ExportCertificatePem();
            Seed("trust-files", "ca-cert", [2, .. Encoding.ASCII.GetBytes(pem)]);
            Seed("trust-files", "client-cert-and-key", [3, .. Encoding.ASCII.GetBytes(pem), 0, .. Encoding.ASCII.GetBytes(rsa.ExportPkcs8PrivateKeyPem())]);
        }

        foreach (var (name, configuration) in new[]
                 {
                     ("pci0000:00/0000:00:05.0/usb2/2-4", 1), ("pci0000:00/0000:00:05.0/usb1/1-1/1-1.3", 1),
                     ("platform/dummy_hcd.0/usb3/3-1", 1), ("pci0000:00/0000:00:05.0/usb1/1-1", 1), ("platform/dummy_hcd.1/usb4/4-1", 0),
                 })
            Seed("sysfs-descriptors", name.Replace('/', '_').Replace(':', '_'), [(byte)configuration, .. SysfsDescriptors(repo, name)]);
        return count;
    }

    private static byte[] HostToGuest(UsbRedirCapabilities caps)
    {
        var host = Connected(UsbRedirRole.UsbHost, caps);
        host.Send(new DeviceConnectHeader(UsbSpeed.High, 0, 0, 0, 0x1209, 0x0001, 0x0100));
        host.Send(new InterfaceInfoHeader(1, Fill(8), Fill(8, 0x08), Fill(8, 0x06), Fill(8, 0x50)));
        var types = Fill(32, 0xff);
        types[0] = types[16] = 0; // control
        types[2] = types[16 + 1] = 2; // bulk OUT 0x02, bulk IN 0x81
        var maxPacket = (caps & UsbRedirCapabilities.EpInfoMaxPacketSize) != 0 ? new ushort[32] : null;
        if (maxPacket is not null)
            maxPacket[0] = maxPacket[16] = 64;
        host.Send(new EpInfoHeader(types, new byte[32], new byte[32], maxPacket, (caps & UsbRedirCapabilities.BulkStreams) != 0 ? new uint[32] : null));
        host.Send(1, new ConfigurationStatusHeader(UsbStatus.Success, 1));
        host.Send(2, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x0100, 0, 18),
            [18, 1, 0, 2, 0, 0, 0, 64, 0x09, 0x12, 1, 0, 0, 1, 1, 2, 3, 1]);
        host.Send(3, new AltSettingStatusHeader(UsbStatus.Success, 0, 0));
        host.Send(4, new BulkPacketHeader(0x81, UsbStatus.Success, 13, 0), [0x55, 0x53, 0x42, 0x53, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        host.Send(5, new InterruptReceivingStatusHeader(UsbStatus.Success, 0x83));
        host.Send(6, new InterruptPacketHeader(0x83, UsbStatus.Success, 8), [0, 0, 4, 0, 0, 0, 0, 0]);
        host.Send(7, new IsoStreamStatusHeader(UsbStatus.Success, 0x84));
        host.Send(8, new IsoPacketHeader(0x84, UsbStatus.Success, 4), [1, 2, 3, 4]);
        if ((caps & UsbRedirCapabilities.BulkReceiving) != 0)
        {
            host.Send(9, new BulkReceivingStatusHeader(1, 0x81, UsbStatus.Success));
            host.Send(10, new BufferedBulkPacketHeader(1, 4, 0x81, UsbStatus.Success), [9, 8, 7, 6]);
        }
        if ((caps & UsbRedirCapabilities.BulkStreams) != 0)
            host.Send(11, new BulkStreamsStatusHeader(0x00020002, 4, UsbStatus.Success));
        if ((caps & UsbRedirCapabilities.Filter) != 0)
            host.SendFilter("0x08,-1,-1,-1,1|-1,-1,-1,-1,0");
        host.SendDeviceDisconnect();
        return host.PendingOutput.ToArray();
    }

    private static byte[] GuestToHost(UsbRedirCapabilities caps)
    {
        var guest = Connected(UsbRedirRole.UsbGuest, caps);
        guest.Send(1, new ControlPacketHeader(0x80, 6, 0x80, UsbStatus.Success, 0x0100, 0, 18));
        guest.Send(2, new SetConfigurationHeader(1));
        guest.SendGetConfiguration(3);
        guest.Send(4, new SetAltSettingHeader(0, 0));
        guest.Send(5, new GetAltSettingHeader(0));
        guest.Send(6, new BulkPacketHeader(0x02, UsbStatus.Success, 31, 0), CbwInquiry());
        guest.Send(7, new BulkPacketHeader(0x81, UsbStatus.Success, 36, 0));
        guest.Send(8, new StartInterruptReceivingHeader(0x83));
        guest.Send(9, new StopInterruptReceivingHeader(0x83));
        guest.Send(10, new StartIsoStreamHeader(0x84, 8, 4));
        guest.Send(11, new StopIsoStreamHeader(0x84));
        guest.Send(12, new IsoPacketHeader(0x05, UsbStatus.Success, 4), [1, 2, 3, 4]);
        guest.Send(13, new InterruptPacketHeader(0x06, UsbStatus.Success, 2), [1, 2]);
        if ((caps & UsbRedirCapabilities.BulkStreams) != 0)
        {
            guest.Send(14, new AllocBulkStreamsHeader(0x00020002, 4));
            guest.Send(15, new FreeBulkStreamsHeader(0x00020002));
        }
        if ((caps & UsbRedirCapabilities.BulkReceiving) != 0)
        {
            guest.Send(16, new StartBulkReceivingHeader(1, 512, 0x81, 4));
            guest.Send(17, new StopBulkReceivingHeader(1, 0x81));
        }
        guest.SendCancelDataPacket(7);
        if ((caps & UsbRedirCapabilities.Filter) != 0)
        {
            guest.SendFilter("-1,-1,-1,-1,1");
            guest.SendFilterReject();
        }
        guest.SendReset();
        if ((caps & UsbRedirCapabilities.DeviceDisconnectAck) != 0)
            guest.SendDeviceDisconnectAck();
        return guest.PendingOutput.ToArray();
    }

    /// <summary>A codec that has read its peer's hello (the peer advertising <paramref name="caps"/> too), its own hello still pending.</summary>
    private static UsbRedirCodec Connected(UsbRedirRole role, UsbRedirCapabilities caps)
    {
        var codec = new UsbRedirCodec(role, caps, "usbredir-seed");
        var peer = new UsbRedirCodec(role == UsbRedirRole.UsbHost ? UsbRedirRole.UsbGuest : UsbRedirRole.UsbHost, caps, "peer");
        codec.Receive(peer.PendingOutput.Span);
        return codec;
    }

    private static byte[] Fill(int count, byte value = 0) => Enumerable.Repeat(value, count).ToArray();

    private static byte[] CbwInquiry()
    {
        var cbw = new byte[31];
        "USBC"u8.CopyTo(cbw);
        BinaryPrimitives.WriteUInt32LittleEndian(cbw.AsSpan(4), 0x100);
        BinaryPrimitives.WriteUInt32LittleEndian(cbw.AsSpan(8), 36);
        cbw[12] = 0x80;
        cbw[14] = 6;
        cbw[15] = 0x12;
        cbw[19] = 36;
        return cbw;
    }

    /// <summary>A ScsiDiskTarget operation 1: tag, direction, length (two bytes), cdb length - 1, cdb, cdb length byte, OUT data.</summary>
    private static byte[] Command(uint tag, bool dataIn, ushort length, byte[] cdb, byte fill = 0)
    {
        var bytes = new List<byte> { 1 };
        bytes.AddRange(BitConverter.GetBytes(tag));
        bytes.Add((byte)(dataIn ? 1 : 0));
        bytes.AddRange(BitConverter.GetBytes(length));
        bytes.Add((byte)(cdb.Length - 1));
        bytes.AddRange(cdb);
        bytes.Add((byte)(cdb.Length - 1));
        if (!dataIn)
            bytes.AddRange(Enumerable.Repeat(fill, length));
        return bytes.ToArray();
    }

    private static byte[] VhciHeader(int size, ushort type, ushort port, ulong id)
    {
        var record = new byte[(size + 7) & ~7];
        BinaryPrimitives.WriteUInt16LittleEndian(record, type);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(VhciCtrlAbi.Header.Port), port);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(VhciCtrlAbi.Header.Length), (uint)record.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(VhciCtrlAbi.Header.Id), id);
        return record;
    }

    private static byte[] VhciPort(ushort port, ushort portEvent)
    {
        var record = VhciHeader(VhciCtrlAbi.Port.Size, VhciCtrlAbi.EventPort, port, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(VhciCtrlAbi.Port.Event), portEvent);
        return record;
    }

    private static byte[] VhciUnlink(ushort port, ulong id)
    {
        var record = VhciHeader(VhciCtrlAbi.Unlink.Size, VhciCtrlAbi.EventUnlink, port, id);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(VhciCtrlAbi.Unlink.Status), -104);
        return record;
    }

    private static byte[] VhciSubmit(ushort port, ulong id, byte endpoint, byte type, UsbSetupPacket setup, int length, byte[] data,
        (uint Offset, uint Length)[]? iso = null)
    {
        var isIn = (endpoint & 0x80) != 0;
        var packets = iso?.Length ?? 0;
        var record = VhciHeader(VhciCtrlAbi.Submit.Size + packets * VhciCtrlAbi.IsoPacketSize + (isIn ? 0 : data.Length), VhciCtrlAbi.EventSubmit, port, id);
        var s = record.AsSpan();
        s[VhciCtrlAbi.Submit.Address] = 2;
        s[VhciCtrlAbi.Submit.Endpoint] = endpoint;
        s[VhciCtrlAbi.Submit.TransferType] = type;
        if (type == 2)
            WriteSetup(setup, s[VhciCtrlAbi.Submit.Setup..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[VhciCtrlAbi.Submit.TransferLength..], (uint)length);
        BinaryPrimitives.WriteInt32LittleEndian(s[VhciCtrlAbi.Submit.Interval..], type == 0 ? 1 : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[VhciCtrlAbi.Submit.IsoPackets..], (uint)packets);
        BinaryPrimitives.WriteUInt32LittleEndian(s[VhciCtrlAbi.Submit.DataLength..], isIn ? 0u : (uint)data.Length);
        var at = VhciCtrlAbi.Submit.Size;
        foreach (var (offset, len) in iso ?? [])
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[at..], offset);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(at + 4)..], len);
            at += VhciCtrlAbi.IsoPacketSize;
        }
        if (!isIn)
            data.CopyTo(s[at..]);
        return record;
    }

    private static void WriteSetup(UsbSetupPacket setup, Span<byte> s)
    {
        s[0] = setup.RequestType;
        s[1] = setup.Request;
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], setup.Value);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], setup.Index);
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], setup.Length);
    }

    private static byte[] SysfsDescriptors(string repo, string device) =>
        File.ReadAllBytes(Path.Combine(repo, "tests", "fixtures", "sysfs", "qemu-xhci", "sys", "devices", device, "descriptors"));
}
