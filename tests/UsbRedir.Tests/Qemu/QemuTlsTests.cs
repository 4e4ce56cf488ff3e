using System.Net;
using System.Security.Cryptography;
using UsbRedir.Devices.Software;
using UsbRedir.Security;
using UsbRedir.Sessions;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Qemu;

/// <summary>
/// QEMU 7.2's TLS chardevs against UsbRedir's TLS, both directions in one Debian 6.1 guest boot, with a certificate set
/// made by `usbredir tls` (so QEMU accepts what the tooling writes):
/// (a) QEMU as the TLS server (tls-creds-x509 endpoint=server, verify-peer=on; chardev server=on): a client without a
/// certificate is refused after the handshake ("rejected by the peer's TLS authorization"), then `usbredir connect
/// --tls-dir` pushes a disk; (b) QEMU as the TLS client (endpoint=client; chardev server=off) towards a listening
/// UsbRedir exporter with TLS. The guest reads a known file from each disk and writes one back.
/// </summary>
public sealed class QemuTlsTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range.</summary>
    private const int FirstPort = 47650, LastPort = 47699;

    [VmFact]
    public async Task Qemu_tls_chardevs_carry_pushed_disks_both_ways_and_refuse_a_client_without_a_certificate()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-qemu-tls-").FullName;
        var tlsDir = Path.Combine(shared, "tls");
        foreach (var step in new[] { new[] { "tls", "new-ca", "--tls-dir", tlsDir }, ["tls", "new-server", "--tls-dir", tlsDir, "--host", "127.0.0.1", "--host", "localhost"], ["tls", "new-client", "--tls-dir", tlsDir] })
        {
            var (code, text) = await CliProcess.RunAsync(step);
            Assert.True(code == 0, text);
        }
        var pushedContent = RandomNumberGenerator.GetBytes(150_000);
        var listenedContent = RandomNumberGenerator.GetBytes(170_000);
        var pushedImage = Ext2Image.Create(shared, "pushed.img", "8M", ("known.bin", pushedContent));
        var listenedImage = Ext2Image.Create(shared, "listened.img", "8M", ("known.bin", listenedContent));

        // (b): the listening exporter as usbredir connect --listen --tls-dir makes it: TLS only with the set's server
        // certificate, and the listen mode's admission policy (ServerSecurity for a listener), which lets QEMU on this
        // machine in over loopback with its CA-signed client certificate.
        await using var listenedDisk = VirtualDevices.CreateDisk(listenedImage);
        var admissions = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var listenSecurity = ServerSecurity.Create(new UsbRedirConfigFolder(Path.Combine(shared, "config")), TlsSettings.ForServer(null, tlsDir, null),
            allowUnauthenticated: false, trustClientsOnFirstUse: false, line => { admissions.Enqueue(line); output.WriteLine($"listen policy: {line}"); },
            AdmittingEnd.Listener);
        var listening = await UsbRedirConnection.ListenAsync(new UsbRedir.Devices.Sources.FixedUsbDeviceSource(listenedDisk), new IPEndPoint(IPAddress.Loopback, 0),
            listenSecurity.Tls, logListener: e => output.WriteLine($"listen: {e}"), peerFilter: listenSecurity.FilterFor);

        var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), 1, (ports, tag) =>
        {
            var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(5) };
            options.ReadWriteDirs.Add(shared);
            options.Modules.AddRange(["xhci_pci", "usb_storage", "sd_mod"]);
            options.QemuArgs.AddRange([
                "-object", $"tls-creds-x509,id=tserver,dir={tlsDir},endpoint=server,verify-peer=on",
                "-object", $"tls-creds-x509,id=tclient,dir={tlsDir},endpoint=client",
                "-device", "qemu-xhci,id=xhci",
                "-chardev", $"socket,id=disk-{tag},host=127.0.0.1,port={ports[0]},server=on,wait=off,tls-creds=tserver",
                "-device", $"usb-redir,chardev=disk-{tag},bus=xhci.0",
                "-chardev", $"socket,id=lst-{tag},host=127.0.0.1,port={listening.ListenEndPoint!.Port},server=off,reconnect=1,tls-creds=tclient",
                "-device", $"usb-redir,chardev=lst-{tag},bus=xhci.0",
            ]);
            return GuestVm.RunAsync(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "qemu-tls.sh")], options);
        });
        var server = new UsbRedirEndpoint("127.0.0.1", ports[0]);

        // (a) first without a client certificate: QEMU completes the handshake, then drops us.
        await using (var stranger = VirtualDevices.CreateDisk(pushedImage))
        {
            var noCertificate = TlsClientOptions.FromDirectory(tlsDir) with { ClientCertificate = null };
            var refused = await Assert.ThrowsAsync<UsbRedirException>(() =>
                UsbRedirConnection.ConnectAsync(stranger, server, noCertificate, ReconnectPolicy.Never));
            output.WriteLine($"without a certificate: {refused.ErrorId}: {refused.Message}");
            Assert.Equal("TlsRejectedByPeer", refused.ErrorId);
            Assert.Contains("rejected by the peer's TLS authorization", refused.Message);
        }
        using var cli = CliProcess.Start("connect", "--disk", pushedImage, "--server", server.ToString(), "--tls-dir", tlsDir, "--verbose");

        var result = await guest;
        output.WriteLine(result.ToString());
        var cliOutput = await CliProcess.StopAsync(cli);
        output.WriteLine("--- usbredir connect ---\n" + cliOutput);
        await listening.DisconnectAsync(TimeSpan.FromSeconds(2));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(result.KernelProblem, result.ToString());
        Assert.Contains($"disk: {Md5(pushedContent)}", result.Stdout);
        Assert.Contains($"disk: {Md5(listenedContent)}", result.Stdout);
        Assert.Contains("TLS 1.3", cliOutput);
        Assert.Contains(listening.Log.Entries, e => e.Message.Contains("connected over TLS", StringComparison.Ordinal));
        Assert.Contains(admissions, line => line.Contains("is signed by the trusted CA", StringComparison.Ordinal)); // the policy let QEMU in
        Assert.Equal("written by the guest over TLS\n", Ext2Image.ReadFile(pushedImage, "/from-guest.txt"));
        Assert.Equal("written by the guest over TLS\n", Ext2Image.ReadFile(listenedImage, "/from-guest.txt"));
        Directory.Delete(shared, recursive: true);
    }

    private static string Md5(byte[] content) => Convert.ToHexString(MD5.HashData(content)).ToLowerInvariant();
}
