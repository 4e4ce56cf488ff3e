using System.Management.Automation;
using System.Net;
using UsbRedir.Controllers;
using UsbRedir.Filtering;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.PowerShell.Filtering;
using UsbRedir.Security;
using UsbRedir.Server;
using UsbRedir.Transport.Tls;

namespace UsbRedir.PowerShell.Servers;

/// <summary>
/// Start-UsbRedirServer: listens for usbredir peers (Connect-UsbDevice, usbredir connect, usbredirect --to) and plugs
/// every device they push into a free port of a virtual host controller, in the background until stopped.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "UsbRedirServer", SupportsShouldProcess = true, DefaultParameterSetName = PortsSet)]
[OutputType(typeof(UsbRedirServer), typeof(UsbRedirJob))]
public sealed class StartUsbRedirServerCommand : UsbRedirCmdlet
{
    private const string PortsSet = "Ports";
    private const string ControllerSet = "Controller";

    /// <summary>The TCP port to listen on; 0 picks a free one (see LocalEndPoint).</summary>
    [Parameter(Position = 0)]
    [ValidateRange(0, 65535)]
    public int Port { get; set; } = UsbRedirServerOptions.DefaultPort;

    /// <summary>A controller from New-VhciController to plug accepted devices into; it stays when the server stops.</summary>
    [Parameter(ParameterSetName = ControllerSet, Mandatory = true, ValueFromPipeline = true)]
    public VhciController? Controller { get; set; }

    /// <summary>Ports of a controller made for this server (devices served at once); it is removed when the server stops.</summary>
    [Parameter(ParameterSetName = PortsSet)]
    [ValidateRange(1, VirtualHostController.MaxPorts)]
    public int Ports { get; set; } = 4;

    [Parameter(ParameterSetName = PortsSet)]
    public ControllerBackend Backend { get; set; } = ControllerBackend.Auto;

    /// <summary>Accept only the devices these rules allow (rule objects or a filter string); others get filter_reject.</summary>
    [Parameter]
    [FilterRuleTransformation]
    [ArgumentCompleter(typeof(FilterPresetCompleter))]
    public UsbRedirFilterRule[]? Filter { get; set; }

    /// <summary>The local address to listen on; every address (IPv4 and IPv6) by default.</summary>
    [Parameter]
    public IPAddress Address { get; set; } = IPAddress.IPv6Any;

    /// <summary>TLS only (the default with -TlsDirectory or -Certificate), Plaintext only, or Auto (each connection's first bytes decide).</summary>
    [Parameter]
    public TlsMode Tls { get; set; }

    /// <summary>A TLS directory in QEMU's layout: server-cert.pem, server-key.pem, and ca-cert.pem (clients must present a certificate it signed).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TlsDirectory { get; set; }

    /// <summary>The server's certificate with its private key (overrides server-cert.pem of -TlsDirectory).</summary>
    [Parameter]
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; set; }

    /// <summary>
    /// Accept everyone: plain (unencrypted, unauthenticated) peers from any address and TLS clients nobody allowed. Anyone
    /// who reaches the port can then plug a device into this machine.
    /// </summary>
    [Parameter]
    public SwitchParameter AllowUnauthenticated { get; set; }

    /// <summary>Allow a TLS client the first time it connects, recording its key in authorized_clients (trust on first use).</summary>
    [Parameter]
    public SwitchParameter TrustNewClients { get; set; }

    /// <summary>Where the server's key and authorized_clients are (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigFolder { get; set; }

    /// <summary>Return the server as a job (Get-Job, Wait-Job, Receive-Job for its log and its connections', Stop-Job to stop it).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void Process()
    {
        var job = AsJob ? UsbRedirJob.Create(MyInvocation.Line, "UsbRedir server") : null;
        var tls = TlsSettings.ForServer(IsBound(nameof(Tls)) ? Tls : null, TlsDirectory is null ? null : GetUnresolvedProviderPathFromPSPath(TlsDirectory), Certificate);
        UsbRedirServer? started = null; // the security policy logs into the server's own log once it runs
        var security = ServerSecurity.Create(Security.SecurityParameters.Folder(this, ConfigFolder), tls, AllowUnauthenticated, TrustNewClients,
            line => started?.Log.Info(line));
        var options = new UsbRedirServerOptions
        {
            Address = Address, Port = Port, Filter = Filter, Tls = security.Tls, ClientFilter = security.FilterFor, LogListener = job is null ? null : job.Collect,
        };
        var where = Address.Equals(IPAddress.IPv6Any) ? $"port {Port} on every address" : $"{Address} port {Port}";
        if (ParameterSetName == ControllerSet)
        {
            if (ShouldProcess(where, $"Start a usbredir server plugging devices into {Controller!.Name}"))
                Write(started = ServerLauncher.Start(Controller, options), job, security);
            return;
        }
        if (!ShouldProcess(where, $"Create a {Ports}-port virtual host controller and start a usbredir server"))
            return;
        var server = WaitWithProgress(ServerLauncher.StartWithOwnControllerAsync(Ports, Backend, options,
            (ports, backend, token) => VirtualHostControllerFactory.Default.CreateAsync(ports, backend, token), CancellationToken),
            $"Creating a {Ports}-port virtual host controller");
        started = server;
        Write(server, job, security);
    }

    private void Write(UsbRedirServer server, UsbRedirJob? job, ServerSecurity security)
    {
        // Shown like Write-Host, so that the owner can compare the key clients record on their first connection.
        WriteInformation(new HostInformationMessage { Message = $"UsbRedir server {server.Id}: {security.Describe()}" }, ["PSHOST"]);
        if (job is null)
        {
            WriteObject(server);
            return;
        }
        JobRepository.Add(job.Follow(server, timeout => server.StopAsync(timeout)));
        WriteObject(job);
    }
}
