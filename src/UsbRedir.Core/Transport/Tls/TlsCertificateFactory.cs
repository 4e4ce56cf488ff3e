using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>What a certificate is for.</summary>
public enum TlsCertificateKind
{
    /// <summary>A certificate authority that signs the others (ca-cert.pem, ca-key.pem).</summary>
    Ca,

    /// <summary>A server's certificate (server-cert.pem, server-key.pem), for the names and addresses clients reach it by.</summary>
    Server,

    /// <summary>A client's certificate (client-cert.pem, client-key.pem).</summary>
    Client,
}

/// <summary>
/// Makes certificate sets QEMU, libvirt and UsbRedir all accept, in QEMU's directory layout (<see cref="TlsDirectory"/>):
/// a CA (basic constraints CA:true, critical; key usage keyCertSign and cRLSign, critical), servers and clients signed by it
/// (basic constraints CA:false; key usage digitalSignature and keyEncipherment, critical, as QEMU checks; extended key
/// usage serverAuth or clientAuth; a server's host names and addresses as subject alternative names). RSA 2048 keys,
/// written readable by their owner only. The one engine behind New-UsbRedirCertificate and usbredir tls.
/// </summary>
public static class TlsCertificateFactory
{
    /// <summary>Default lifetime of a CA.</summary>
    public static readonly TimeSpan DefaultCaLifetime = TimeSpan.FromDays(3650);

    /// <summary>Default lifetime of a server or client certificate.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(825);

    /// <summary>How far back a new certificate's validity starts, so a peer whose clock is a little behind accepts it.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromHours(1);

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <summary>A self-signed CA with its private key.</summary>
    public static X509Certificate2 CreateCa(string commonName, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(Subject(commonName), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>A server or client certificate signed by <paramref name="ca"/> (which must carry its private key).</summary>
    /// <param name="hosts">Server: the DNS names and IP addresses clients use (at least one). Client: optional.</param>
    public static X509Certificate2 CreateSigned(X509Certificate2 ca, TlsCertificateKind kind, string commonName, IReadOnlyCollection<string> hosts,
        DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(ca);
        if (kind == TlsCertificateKind.Ca)
            throw new ArgumentException("Use CreateCa for a CA.", nameof(kind));
        if (!ca.HasPrivateKey)
            throw TlsDirectory.NoPrivateKey(ca, "CA");
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(Subject(commonName), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(kind == TlsCertificateKind.Server ? ServerAuth : ClientAuth)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (hosts.Count > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var host in hosts)
            {
                if (IPAddress.TryParse(host, out var address))
                    san.AddIpAddress(address);
                else
                    san.AddDnsName(host);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        // A certificate is never valid outside its CA's validity.
        if (notBefore < ca.NotBefore)
            notBefore = ca.NotBefore;
        if (notAfter > ca.NotAfter)
            notAfter = ca.NotAfter;
        using var signed = request.Create(ca, notBefore, notAfter, RandomNumberGenerator.GetBytes(16));
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Writes a new CA into <paramref name="directory"/> (created if needed): ca-cert.pem and ca-key.pem. Returns the paths written.
    /// </summary>
    /// <exception cref="UsbRedirException">A file exists and <paramref name="force"/> is false (TlsFileExists), or it cannot be written.</exception>
    public static IReadOnlyList<string> NewCa(string directory, string? commonName = null, TimeSpan? lifetime = null, bool force = false)
    {
        var dir = Prepare(directory, force, TlsDirectory.CaCertificate, TlsDirectory.CaKey);
        var now = DateTimeOffset.UtcNow;
        using var ca = CreateCa(commonName ?? $"UsbRedir CA {Dns.GetHostName()}", now - ClockSkew, now + (lifetime ?? DefaultCaLifetime));
        return Write(dir, ca, TlsDirectory.CaCertificate, TlsDirectory.CaKey);
    }

    /// <summary>
    /// Writes a server (server-cert.pem, server-key.pem) or client (client-cert.pem, client-key.pem) certificate into
    /// <paramref name="directory"/>, signed by the CA found there (ca-cert.pem and ca-key.pem). A server without
    /// <paramref name="hosts"/> gets this machine's name, localhost, 127.0.0.1 and ::1. Returns the paths written.
    /// </summary>
    /// <exception cref="UsbRedirException">No CA there (TlsFileMissing), a file exists and <paramref name="force"/> is false (TlsFileExists), or it cannot be written.</exception>
    public static IReadOnlyList<string> NewSigned(string directory, TlsCertificateKind kind, string? commonName = null,
        IReadOnlyCollection<string>? hosts = null, TimeSpan? lifetime = null, bool force = false)
    {
        var (certFile, keyFile) = kind switch
        {
            TlsCertificateKind.Server => (TlsDirectory.ServerCertificate, TlsDirectory.ServerKey),
            TlsCertificateKind.Client => (TlsDirectory.ClientCertificate, TlsDirectory.ClientKey),
            _ => throw new ArgumentException("Use NewCa for a CA.", nameof(kind)),
        };
        var dir = TlsDirectory.Open(directory);
        using var ca = TlsDirectory.LoadIdentity(dir, TlsDirectory.CaCertificate, TlsDirectory.CaKey);
        Prepare(dir, force, certFile, keyFile);
        if (kind == TlsCertificateKind.Server && (hosts is null || hosts.Count == 0))
            hosts = [Dns.GetHostName(), "localhost", "127.0.0.1", "::1"];
        hosts ??= [];
        var name = commonName ?? (kind == TlsCertificateKind.Server ? hosts.First() : $"{Environment.UserName}@{Dns.GetHostName()}");
        var now = DateTimeOffset.UtcNow;
        using var certificate = CreateSigned(ca, kind, name, hosts, now - ClockSkew, now + (lifetime ?? DefaultLifetime));
        return Write(dir, certificate, certFile, keyFile);
    }

    /// <summary>Writes the certificate (mode 0644) and its private key (PKCS#8 PEM, mode 0600: the owner only).</summary>
    public static IReadOnlyList<string> Write(string directory, X509Certificate2 certificate, string certificateFile, string keyFile)
    {
        var certPath = Path.Combine(directory, certificateFile);
        var keyPath = Path.Combine(directory, keyFile);
        using var key = (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey() ?? certificate.GetECDsaPrivateKey()
            ?? throw TlsDirectory.NoPrivateKey(certificate, "new");
        try
        {
            WriteText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WriteText(certPath, certificate.ExportCertificatePem() + "\n",
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsbRedirException("TlsFileWriteFailed", UsbRedirErrorCategory.PermissionDenied,
                $"Cannot write {certificateFile}/{keyFile} in '{directory}': {e.Message}", "Choose a directory you can write to.", directory, e);
        }
        return [certPath, keyPath];
    }

    private static void WriteText(string path, string text, UnixFileMode mode)
    {
        if (File.Exists(path))
            File.Delete(path); // a fresh file gets the mode below; an old one would keep its own
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = mode;
        using var file = new FileStream(path, options);
        using var writer = new StreamWriter(file);
        writer.Write(text);
    }

    private static string Prepare(string directory, bool force, params string[] files)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var dir = Path.GetFullPath(directory);
        Directory.CreateDirectory(dir);
        if (!force && files.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists) is { } existing)
            throw new UsbRedirException("TlsFileExists", UsbRedirErrorCategory.ResourceBusy,
                $"'{existing}' already exists.", "Give another directory, or overwrite it (-Force, --force).", existing);
        return dir;
    }

    private static X500DistinguishedName Subject(string commonName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("UsbRedir");
        builder.AddCommonName(commonName);
        return builder.Build();
    }
}
