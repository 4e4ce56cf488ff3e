using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UsbRedir.Tests.Qemu;
using UsbRedir.Tests.Support;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Vm;

/// <summary>
/// USB 3 bulk streams of a real device through our exporter (<see cref="Devices.Local.LocalUsbDevice"/> over libusb), in one
/// guest boot of its own (tests/vm/scenarios/local-device-streams.sh): qemu's SuperSpeed usb-uas disk on qemu-xhci is exported
/// with <c>usbredir connect</c> to qemu's own usb-redir on xHCI (the stream leaves the guest through virtio-serial port "uas",
/// which this test bridges to the usb-redir chardev), where the uas driver drives the copy with bulk streams; a second export
/// (port "busy", a second usb-redir) is stopped while uas still holds its copy. The scenario prints every step with the
/// guest's uptime and bounds every wait, so a hang shows where it is.
/// </summary>
public sealed class LocalDeviceStreamsVmTests(ITestOutputHelper output)
{
    /// <summary>This test's share of the project's fixed-port range (the usb-redir chardevs listen on fixed ports).</summary>
    private const int FirstPort = 47925, LastPort = 47949;

    private const string Written = "written through the uas driver, qemu usb-redir and usbredir connect\n";

    private static readonly Lazy<Run> GuestRun = new(() => RunInGuestAsync().GetAwaiter().GetResult());

    private sealed record Run(GuestRunResult Result, string Image);

    private static async Task<Run> RunInGuestAsync()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-local-streams-").FullName;
        var image = Ext2Image.Create(shared, "uas.img", "4M", ("known.bin", RandomNumberGenerator.GetBytes(1_000_000)));
        // The guest's virtio-serial ports, one per export; this test carries each to its own usb-redir.
        var vportNames = new[] { "uas", "busy" };
        var vports = vportNames.Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var vport in vports)
            vport.Start();
        string[] command = ["bash", RepoPaths.Combine("tests", "vm", "scenarios", "local-device-streams.sh"),
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll")];
        try
        {
            var (guest, ports) = await QemuChardevGuest.StartAsync((FirstPort, LastPort), vports.Length, (ports, tag) =>
            {
                var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(6) };
                options.ReadWriteDirs.Add(shared);
                options.Modules.AddRange(["xhci_pci", "usb_storage", "uas", "sd_mod"]);
                options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
                options.QemuArgs.AddRange([
                    // The original and the usb-redirs on two controllers. usb_set_interface holds its controller's
                    // bandwidth_mutex while its SET_INTERFACE is out: the guest's uas sends one to the copy, which our exporter
                    // (in the same kernel) turns into one on the original, and on one controller that one waits for the mutex
                    // until the copy's times out (5 s) and uas gives the copy up (usbredirect too). An exporter on another
                    // machine has no such loop.
                    "-device", "qemu-xhci,id=xhci,p2=8,p3=8",
                    "-drive", $"if=none,id=uasdisk,format=raw,file={image}",
                    "-device", "usb-uas,bus=xhci.0,id=uas",
                    "-device", "scsi-hd,bus=uas.0,scsi-id=0,lun=0,drive=uasdisk",
                    "-device", "qemu-xhci,id=redirhc,p2=8,p3=8",
                ]);
                for (var i = 0; i < vports.Length; i++)
                {
                    options.QemuArgs.AddRange([
                        "-chardev", $"socket,id={vportNames[i]}-{tag},host=127.0.0.1,port={ports[i]},server=on,wait=off",
                        "-device", $"usb-redir,chardev={vportNames[i]}-{tag},bus=redirhc.0",
                    ]);
                    options.SerialClients.Add((((IPEndPoint)vports[i].LocalEndpoint).Port, vportNames[i]));
                }
                return GuestVm.RunAsync(command, options);
            });
            using var stop = new CancellationTokenSource();
            var bridges = Task.WhenAll(vports.Select((vport, i) => LocalDeviceVmTests.BridgeAsync(vport, ports[i], stop.Token)));
            var result = await guest;
            stop.Cancel();
            await bridges;
            return new Run(result, image);
        }
        finally
        {
            foreach (var vport in vports)
                vport.Dispose();
        }
    }

    private void AssertPassed(params string[] names) => GuestScenarioResults.AssertPassed(GuestRun.Value.Result, output, names);

    /// <summary>
    /// The copy is SuperSpeed with the uas driver bound (which needs bulk streams: without them usb-storage would take it),
    /// and the exporter allocated the streams on the device through libusb, and freed them when the guest's uas let go.
    /// </summary>
    [SocatVmFact]
    public void The_uas_driver_drives_the_copy_on_bulk_streams_the_exporter_allocates_and_frees_on_the_device() =>
        AssertPassed("uas.original-uas-bound", "uas.original-superspeed", "uas.copy-disk-appears", "uas.copy-superspeed", "uas.copy-uas-bound",
            "uas.streams-allocated-on-the-device", "uas.streams-freed-on-the-device", "uas.every-transfer-completed", "uas.no-errors-logged");

    /// <summary>The copy reads the disk's bytes, and a file written through it lands in the original's image.</summary>
    [SocatVmFact]
    public void The_copy_reads_the_same_bytes_and_a_file_written_through_it_lands_in_the_original()
    {
        AssertPassed("uas.copy-disk-appears", "uas.copy-written");
        var stdout = GuestRun.Value.Result.Stdout;
        Assert.Equal(GuestScenarioResults.Md5(stdout, "uas-direct"), GuestScenarioResults.Md5(stdout, "uas-redir"));
        Assert.NotEqual(GuestScenarioResults.Md5(stdout, "uas-direct"), GuestScenarioResults.Md5(stdout, "uas-redir-after"));
        Assert.Equal(GuestScenarioResults.Md5(stdout, "uas-redir-after"), GuestScenarioResults.Md5(stdout, "uas-direct-after"));
        Assert.Equal(Written, Ext2Image.ReadFile(GuestRun.Value.Image, "/from-uas.txt"));
    }

    /// <summary>SIGTERM ends the export with exit status 0, the copy goes away, and uas binds to the original again.</summary>
    [SocatVmFact]
    public void Stopping_the_export_removes_the_copy_and_uas_returns_to_the_original() =>
        AssertPassed("uas.export-exit-0", "uas.copy-gone", "uas.original-uas-reattached");

    /// <summary>
    /// Stopped while the guest's uas still holds the copy and its streams: the export ends with 0, the copy goes away, and uas
    /// binds to the original again (the streams on the device are free by then) and reads what the copy read.
    /// </summary>
    [SocatVmFact]
    public void Stopped_while_uas_holds_the_copy_the_export_ends_cleanly_and_uas_returns_to_the_original()
    {
        AssertPassed("busy.copy-disk-appears", "busy.copy-uas-bound", "busy.export-exit-0", "busy.copy-gone", "busy.original-uas-reattached",
            "busy.every-transfer-completed", "busy.no-errors-logged");
        var stdout = GuestRun.Value.Result.Stdout;
        Assert.Equal(GuestScenarioResults.Md5(stdout, "uas-direct-after"), GuestScenarioResults.Md5(stdout, "busy-redir"));
        Assert.Equal(GuestScenarioResults.Md5(stdout, "uas-direct-after"), GuestScenarioResults.Md5(stdout, "busy-direct-after"));
    }

    /// <summary>No hung task (hung_task_timeout_secs is 10 in the guest), no kernel problem, every check passed.</summary>
    [SocatVmFact]
    public void The_whole_guest_run_succeeds_with_a_clean_kernel_log()
    {
        // Every check's line with its guest uptime, for the CI log.
        foreach (var line in GuestRun.Value.Result.Stdout.Split('\n').Where(l => l.StartsWith("PASS ", StringComparison.Ordinal) ||
                     l.StartsWith("FAIL ", StringComparison.Ordinal)))
            output.WriteLine(line);
        GuestScenarioResults.AssertWholeRunPassed(GuestRun.Value.Result, output);
    }
}

/// <summary>A VM fact that also needs socat (in the host root the guest shares: the guest's bridge to its virtio-serial port).</summary>
public sealed class SocatVmFactAttribute : FactAttribute
{
    public SocatVmFactAttribute()
    {
        var missing = new[] { GuestVm.Missing, Peers.HasCommand("socat") ? null : "socat" }.Where(m => m is not null).ToArray();
        Skip = Peers.SkipUnless(missing.Length == 0, string.Join(", ", missing));
    }
}
