using System.Management.Automation;
using System.Net;
using UsbRedir.Controllers;
using UsbRedir.Devices;
using UsbRedir.Devices.Local;
using UsbRedir.Devices.Sources;
using UsbRedir.PowerShell.Controllers;
using UsbRedir.PowerShell.Devices;
using UsbRedir.Security;
using UsbRedir.Sessions;
using UsbRedir.Transport;
using UsbRedir.Transport.Tls;

namespace UsbRedir.PowerShell.Connections;

/// <summary>
/// Connect-UsbDevice: pushes a device to a usb-guest peer (a UsbRedir server, or QEMU's usb-redir chardev in server
/// mode) and returns the connection, which keeps running in the background and reconnects when the link drops; with
/// -Listen, waits for the peer to connect instead (QEMU's usb-redir with a client chardev; usbredirect's --as); or,
/// with -Controller, plugs it into a local virtual host controller and returns the plug.
/// </summary>
/// <remarks>
/// Parameter sets are "what" × "where". What: a device object (-Device, from the pipeline; New-UsbVirtualDevice) or
/// a local device id at position 0 (Connect-UsbDevice 2.0 -Server bob:1138; by property name from Get-UsbDevice) - so
/// no parameter of the device-object sets takes position 0. Where: -Server host:port with the network settings, or
/// -Listen ADDRESS:PORT (the peer connects to us: keepalive settings, no reconnect settings, since the peer reconnects), or
/// -Controller (a local plug, no network, so none of those settings). A local device opened here belongs to its
/// connection or plug: it is closed (its kernel drivers re-attached) when that ends; a connection re-opens it when it is
/// unplugged and comes back (<see cref="LocalUsbDeviceSource"/>).
/// The "where" is read from what is bound, not from ParameterSetName: with pipeline input the set is only known per record.
/// </remarks>
[Cmdlet(VerbsCommunications.Connect, "UsbDevice", SupportsShouldProcess = true, DefaultParameterSetName = DeviceToServerSet)]
[OutputType(typeof(UsbRedirConnection), ParameterSetName = [DeviceToServerSet, DeviceListenSet, IdToServerSet, IdListenSet])]
[OutputType(typeof(UsbRedirJob), ParameterSetName = [DeviceToServerSet, IdToServerSet])]
[OutputType(typeof(UsbDevicePlug), ParameterSetName = [DeviceToControllerSet, IdToControllerSet])]
public sealed class ConnectUsbDeviceCommand : UsbRedirCmdlet
{
    private const string DeviceToServerSet = "DeviceToServer";
    private const string DeviceToControllerSet = "DeviceToController";
    private const string DeviceListenSet = "DeviceListen";
    private const string IdToServerSet = "IdToServer";
    private const string IdToControllerSet = "IdToController";
    private const string IdListenSet = "IdListen";

    private UsbRedirEndpoint? _server;
    private IPEndPoint? _listen;
    private TlsClientOptions? _tlsClient;
    private ClientSecurity? _security;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _notes = new();
    private ServerSecurity? _listenSecurity;
    private ReconnectPolicy? _reconnect;
    private TcpKeepAlive? _keepAlive;

    /// <summary>The device to push: a virtual device from New-UsbVirtualDevice, or any other UsbRedir device object.</summary>
    [Parameter(ParameterSetName = DeviceToServerSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = DeviceToControllerSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = DeviceListenSet, Mandatory = true, ValueFromPipeline = true)]
    public IUsbDevice? Device { get; set; }

    /// <summary>A USB device of this machine: its id (2.0, 2.0.2; 0-based ports), busid (2-1, 2-1.3), VID:PID or serial number.</summary>
    [Parameter(ParameterSetName = IdToServerSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = IdToControllerSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = IdListenSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UsbDeviceIdCompleter))]
    public string Id { get; set; } = "";

    /// <summary>Allow exporting a hub (refused by default: every device behind it would leave this machine).</summary>
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdToControllerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    public SwitchParameter AllowHub { get; set; }

    /// <summary>A local virtual host controller (New-VhciController) to plug the device into: no network involved.</summary>
    [Parameter(ParameterSetName = DeviceToControllerSet, Mandatory = true)]
    [Parameter(ParameterSetName = IdToControllerSet, Mandatory = true)]
    public VhciController? Controller { get; set; }

    /// <summary>The root-hub port (1..PortCount) to plug into; by default the lowest free one.</summary>
    [Parameter(ParameterSetName = DeviceToControllerSet)]
    [Parameter(ParameterSetName = IdToControllerSet)]
    [ValidateRange(1, VirtualHostController.MaxPorts)]
    public int Port { get; set; }

    /// <summary>host:port of the peer: 127.0.0.1:4000, bob:1138, [::1]:4000.</summary>
    [Parameter(ParameterSetName = DeviceToServerSet, Mandatory = true)]
    [Parameter(ParameterSetName = IdToServerSet, Mandatory = true)]
    public string Server { get; set; } = "";

    /// <summary>
    /// ADDRESS:PORT to listen on for the peer (127.0.0.1:4000; 0.0.0.0:4000 or [::]:4000 for every address): QEMU's usb-redir
    /// with a client chardev (server=off) connects there. One peer at a time; when it leaves, the next one gets the device.
    /// </summary>
    [Parameter(ParameterSetName = DeviceListenSet, Mandatory = true)]
    [Parameter(ParameterSetName = IdListenSet, Mandatory = true)]
    public string Listen { get; set; } = "";

    /// <summary>End the connection when the link drops instead of reconnecting with backoff.</summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    public SwitchParameter NoReconnect { get; set; }

    /// <summary>The wait before the first reconnect attempt; it doubles with each further attempt.</summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [DurationTransformation]
    public TimeSpan ReconnectDelay { get; set; }

    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [DurationTransformation]
    public TimeSpan MaxReconnectDelay { get; set; }

    /// <summary>Attempts in a row before giving up (the connection then ends as Failed); unlimited by default.</summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    public int MaxReconnectAttempts { get; set; }

    /// <summary>TCP keepalive: idle time before the first probe.</summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    [DurationTransformation]
    public TimeSpan KeepAliveIdle { get; set; }

    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    [DurationTransformation]
    public TimeSpan KeepAliveInterval { get; set; }

    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    public int KeepAliveProbeCount { get; set; }

    /// <summary>TLS only (the default with -TlsDirectory or -Certificate), Plaintext only, or Auto (-Server: plaintext when the peer speaks first, as QEMU's plain chardev does; -Listen: the peer's first bytes decide).</summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    public TlsMode Tls { get; set; }

    /// <summary>
    /// A TLS directory in QEMU's layout. -Server: ca-cert.pem (the server's CA) and client-cert.pem/client-key.pem (presented
    /// when asked). -Listen: server-cert.pem/server-key.pem, and ca-cert.pem that clients' certificates must chain to.
    /// </summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    [ValidateNotNullOrEmpty]
    public string? TlsDirectory { get; set; }

    /// <summary>Our certificate with its private key: the client certificate with -Server, the server certificate with -Listen.</summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; set; }

    /// <summary>
    /// -Server: use a plain (unencrypted, unauthenticated) usbredir server at an address that is not loopback (so does -Tls
    /// Plaintext); without it such a server is refused. -Listen: hand the device to everyone who reaches the port, plain
    /// peers from any address and TLS peers nobody allowed.
    /// </summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    public SwitchParameter AllowUnauthenticated { get; set; }

    /// <summary>-Listen: admit a remote TLS peer the first time it connects, recording its key in authorized_clients (trust on first use).</summary>
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    public SwitchParameter TrustNewClients { get; set; }

    /// <summary>
    /// Where this machine's keys and trust files are (default: $XDG_CONFIG_HOME/usbredir or ~/.config/usbredir): -Server,
    /// the client key and known_servers; -Listen, the server key and authorized_clients.
    /// </summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = DeviceListenSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    [Parameter(ParameterSetName = IdListenSet)]
    [ValidateNotNullOrEmpty]
    public string? ConfigFolder { get; set; }

    /// <summary>Return the connection as a job (Get-Job, Wait-Job, Receive-Job for its log, Stop-Job to disconnect).</summary>
    [Parameter(ParameterSetName = DeviceToServerSet)]
    [Parameter(ParameterSetName = IdToServerSet)]
    public SwitchParameter AsJob { get; set; }

    private bool ToController => IsBound(nameof(Controller));

    private bool ToListen => IsBound(nameof(Listen));

    /// <summary>The settings hold for every device of the pipeline, so a bad one stops the command before any connects.</summary>
    protected override void Begin()
    {
        if (ToController)
            return;
        var tlsMode = IsBound(nameof(Tls)) ? Tls : (TlsMode?)null;
        var tlsDirectory = TlsDirectory is null ? null : GetUnresolvedProviderPathFromPSPath(TlsDirectory);
        if (ToListen)
        {
            _listen = UsbRedirEndpoint.ParseListen(Listen);
            // The server's policy (ServerSecurity): loopback peers admitted, remote ones only over TLS and only when authorized.
            _listenSecurity = ServerSecurity.Create(Security.SecurityParameters.Folder(this, ConfigFolder), TlsSettings.ForServer(tlsMode, tlsDirectory, Certificate),
                AllowUnauthenticated, TrustNewClients, log: null, AdmittingEnd.Listener);
        }
        else
        {
            _server = UsbRedirEndpoint.Parse(Server);
            _reconnect = ReconnectPolicy.Create(
                IsBound(nameof(ReconnectDelay)) ? ReconnectDelay : null,
                IsBound(nameof(MaxReconnectDelay)) ? MaxReconnectDelay : null,
                IsBound(nameof(MaxReconnectAttempts)) ? MaxReconnectAttempts : null,
                never: NoReconnect);
            _security = ClientSecurity.Create(_server, Security.SecurityParameters.Folder(this, ConfigFolder),
                TlsSettings.ForClient(tlsMode, tlsDirectory, Certificate), AllowUnauthenticated || tlsMode == TlsMode.Plaintext, _notes.Enqueue);
            _tlsClient = _security.Tls;
        }
        _keepAlive = TcpKeepAlive.Create(
            IsBound(nameof(KeepAliveIdle)) ? KeepAliveIdle : null,
            IsBound(nameof(KeepAliveInterval)) ? KeepAliveInterval : null,
            IsBound(nameof(KeepAliveProbeCount)) ? KeepAliveProbeCount : null);
    }

    protected override void Process()
    {
        if (Device is { } device)
        {
            if (ToController)
                PlugIntoController(device, Controller!, owned: null);
            else if (!ShouldProcess(device.Description, ToListen ? $"Listen on {_listen} for a peer" : $"Connect to {_server}"))
                return;
            else if (ToListen)
                ListenForPeer(new FixedUsbDeviceSource(device), device.Description);
            else
                PushToServer(new FixedUsbDeviceSource(device), device.Description);
            return;
        }

        var local = OpenLocal();
        if (local is null)
            return; // declined by ShouldProcess
        try
        {
            if (ToController)
                PlugIntoController(local, Controller!, local);
            else if (ToListen)
                ListenForPeer(LocalUsbDeviceSource.Create(local, LocalOptions), local.Description);
            else
                PushToServer(LocalUsbDeviceSource.Create(local, LocalOptions), local.Description);
        }
        catch
        {
            // Nothing took it (a connection that fails hands it back to its source, which closes it: closing twice is harmless).
            local.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private LocalUsbDeviceOptions LocalOptions => new() { AllowHub = AllowHub };

    /// <summary>Opens the local device -Id names (claiming it), or null when ShouldProcess declines.</summary>
    private LocalUsbDevice? OpenLocal()
    {
        var action = ToController ? $"Plug into {Controller!.Name}" : ToListen ? $"Listen on {_listen} for a peer" : $"Connect to {_server}";
        if (!ShouldProcess($"USB device {Id}", action))
            return null;
        return LocalUsbDevice.OpenAsync(Id, LocalOptions, CancellationToken).GetAwaiter().GetResult();
    }

    private void PushToServer(IUsbDeviceSource source, string description)
    {
        // Returns once the first attempt has connected (or throws its error, e.g. ConnectionRefused); from then on
        // the connection runs on its own, guarded tasks and reports through its State, LastError and Log.
        var job = AsJob ? UsbRedirJob.Create(MyInvocation.Line, "UsbRedir connection") : null;
        UsbRedirConnection connection;
        try
        {
            connection = WaitWithProgress(
                UsbRedirConnection.ConnectAsync(source, _server!, _tlsClient, _reconnect, _keepAlive, job is null ? null : job.Collect, CancellationToken,
                    UsbRedirModuleLifetime.Context),
                $"Connecting {description} to {_server}");
        }
        catch (UsbRedirException e)
        {
            throw _security!.Explain(e);
        }
        finally
        {
            // What the security policy said meanwhile (a first connection's recorded key), on the pipeline thread.
            while (_notes.TryDequeue(out var note))
                WriteWarning(note);
        }
        WriteVerbose($"Connection {connection.Id}: {description} -> {_server} ({connection.State}).");
        if (job is null)
        {
            WriteObject(connection);
            return;
        }
        JobRepository.Add(job.Follow(connection));
        WriteObject(job);
    }

    private void ListenForPeer(IUsbDeviceSource source, string description)
    {
        // Returns once the port is bound (or throws: port in use, not a local address); the peer comes in the background.
        // Who was admitted, and why, goes to this connection's log (Get-UsbRedirConnection ... | Select-Object -ExpandProperty Log).
        UsbRedirConnection? connection = null;
        var security = _listenSecurity!.WithLog(line => connection?.Log.Info(line));
        connection = UsbRedirConnection.ListenAsync(source, _listen!, security, _keepAlive, context: UsbRedirModuleLifetime.Context)
            .GetAwaiter().GetResult();
        WriteVerbose($"Connection {connection.Id}: {description} waits for a peer on {connection.ListenEndPoint}; " +
            $"{_listenSecurity!.Describe()}; {_listenSecurity.DescribeAdmission()}.");
        WriteObject(connection);
    }

    private void PlugIntoController(IUsbDevice device, VhciController controller, LocalUsbDevice? owned)
    {
        var where = Port == 0 ? "a free port" : $"port {Port}";
        if (owned is null && !ShouldProcess(device.Description, $"Plug into {where} of {controller.Name}"))
            return;
        // Returns once the kernel sees the device; enumeration and driver binding go on by themselves. A local device opened
        // for this plug belongs to its port: the controller closes it (its kernel drivers come back) when it leaves the port.
        var port = (owned is null
            ? controller.Controller.PlugAsync(device, Port, CancellationToken)
            : controller.Controller.PlugOwnedAsync(owned, Port, CancellationToken)).GetAwaiter().GetResult();
        WriteObject(new UsbDevicePlug(controller, port, device));
    }
}
