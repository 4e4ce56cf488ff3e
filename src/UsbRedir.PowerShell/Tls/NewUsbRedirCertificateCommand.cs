using System.Management.Automation;
using UsbRedir.Transport.Tls;

namespace UsbRedir.PowerShell.Tls;

/// <summary>
/// New-UsbRedirCertificate: writes a CA, a server or a client certificate with its key in QEMU's TLS directory layout
/// (the engine is <see cref="TlsCertificateFactory"/>, shared with `usbredir tls`).
/// </summary>
[Cmdlet(VerbsCommon.New, "UsbRedirCertificate", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class NewUsbRedirCertificateCommand : UsbRedirCmdlet
{
    /// <summary>Ca (ca-cert.pem, ca-key.pem), Server (server-cert.pem, server-key.pem) or Client (client-cert.pem, client-key.pem).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public TlsCertificateKind Kind { get; set; }

    /// <summary>The directory to write into (created for a CA); Server and Client are signed by the CA found there.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string TlsDirectory { get; set; } = "";

    /// <summary>The subject's common name (default: the CA's machine, the server's first host name, user@machine for a client).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Server only: the DNS names and IP addresses clients use (default: this machine's name, localhost, 127.0.0.1, ::1).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? HostName { get; set; }

    /// <summary>How long the certificate is valid (default: 3650 days for a CA, 825 days otherwise).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan Lifetime { get; set; }

    /// <summary>Overwrite existing files.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void Process()
    {
        if (HostName is not null && Kind != TlsCertificateKind.Server)
            throw new UsbRedirException("TlsHostNameNotForKind", UsbRedirErrorCategory.InvalidArgument,
                "-HostName applies to a Server certificate only.", "Drop -HostName, or use -Kind Server.", Kind);
        if (IsBound(nameof(Lifetime)) && Lifetime <= TimeSpan.Zero)
            throw new UsbRedirException("TlsLifetimeInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"-Lifetime must be positive, not {Lifetime}.", "Give a duration such as 365d or (New-TimeSpan -Days 365).", Lifetime);
        var directory = GetUnresolvedProviderPathFromPSPath(TlsDirectory);
        if (!ShouldProcess(directory, $"Write a new {Kind} certificate and key"))
            return;
        TimeSpan? lifetime = IsBound(nameof(Lifetime)) ? Lifetime : null;
        var written = Kind == TlsCertificateKind.Ca
            ? TlsCertificateFactory.NewCa(directory, Name, lifetime, Force)
            : TlsCertificateFactory.NewSigned(directory, Kind, Name, HostName, lifetime, Force);
        foreach (var path in written)
            WriteObject(new FileInfo(path));
    }
}
