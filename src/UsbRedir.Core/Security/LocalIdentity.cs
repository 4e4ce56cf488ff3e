using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Security;

/// <summary>Whose identity: a server's (what clients pin) or a client's (what servers allow).</summary>
public enum IdentityRole
{
    Server,
    Client,
}

/// <summary>
/// This machine's own key and self-signed certificate for one role, kept in the configuration folder in QEMU's file names
/// (<c>server-cert.pem</c> + <c>server-key.pem</c>, <c>client-cert.pem</c> + <c>client-key.pem</c>; the key 0600, the
/// folder 0700), and created on first use, as ssh creates host keys. Nobody signs it: peers trust it by its key's
/// fingerprint (<see cref="Fingerprint"/>), the server's on first use (<c>known_servers</c>), the client's once the
/// server's owner allowed it (<c>authorized_clients</c>).
/// </summary>
public sealed class LocalIdentity
{
    /// <summary>How long a created certificate is valid: peers pin its key, so it is not meant to be renewed.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(20 * 365);

    private LocalIdentity(IdentityRole role, X509Certificate2 certificate, bool created, string certificatePath)
    {
        Role = role;
        Certificate = certificate;
        Created = created;
        CertificatePath = certificatePath;
        Fingerprint = KeyFingerprint.Of(certificate);
    }

    public IdentityRole Role { get; }

    /// <summary>The certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The fingerprint of its key: what the peer's trust file records.</summary>
    public KeyFingerprint Fingerprint { get; }

    /// <summary>True when this call created the key and certificate (the first start).</summary>
    public bool Created { get; }

    /// <summary>Where the certificate is.</summary>
    public string CertificatePath { get; }

    /// <summary>The file names of a role's certificate and key (QEMU's tls-dir names).</summary>
    public static (string Certificate, string Key) FileNames(IdentityRole role) =>
        role == IdentityRole.Server
            ? (TlsDirectory.ServerCertificate, TlsDirectory.ServerKey)
            : (TlsDirectory.ClientCertificate, TlsDirectory.ClientKey);

    /// <summary>
    /// The identity of <paramref name="role"/> in <paramref name="folder"/>: loaded when both files are there, else created
    /// (a new ECDSA P-256 key and a self-signed certificate) and written.
    /// </summary>
    /// <exception cref="UsbRedirException">Only one of the two files exists (IdentityIncomplete), they cannot be read (TlsFileInvalid), or the folder cannot be written.</exception>
    public static LocalIdentity LoadOrCreate(UsbRedirConfigFolder folder, IdentityRole role)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var (certificateFile, keyFile) = FileNames(role);
        string certificatePath = folder.File(certificateFile), keyPath = folder.File(keyFile);
        bool hasCertificate = File.Exists(certificatePath), hasKey = File.Exists(keyPath);
        if (hasCertificate && hasKey)
            return new LocalIdentity(role, TlsDirectory.LoadIdentity(folder.Path, certificateFile, keyFile), created: false, certificatePath);
        if (hasCertificate || hasKey)
            throw new UsbRedirException("IdentityIncomplete", UsbRedirErrorCategory.InvalidData,
                $"{folder.Path} has {(hasCertificate ? certificateFile : keyFile)} but not {(hasCertificate ? keyFile : certificateFile)}.",
                $"Put the missing file back, or remove the other one so that a new {role.ToString().ToLowerInvariant()} identity is created " +
                "(peers that pinned the old key must then accept the new one).", folder.Path);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var created = CreateSelfSigned(key, role);
        folder.WritePrivateFile(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        folder.WritePrivateFile(certificateFile, created.ExportCertificatePem() + "\n");
        return new LocalIdentity(role, TlsDirectory.LoadIdentity(folder.Path, certificateFile, keyFile), created: true, certificatePath);
    }

    private static X509Certificate2 CreateSelfSigned(ECDsa key, IdentityRole role)
    {
        var host = Dns.GetHostName();
        var subject = new X500DistinguishedName(role == IdentityRole.Server
            ? $"CN={Escape(host)}, OU=UsbRedir server"
            : $"CN={Escape(Environment.UserName)}@{Escape(host)}, OU=UsbRedir client");
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(role == IdentityRole.Server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        if (role == IdentityRole.Server)
        {
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            names.AddIpAddress(IPAddress.IPv6Loopback);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.Add(Lifetime));
    }

    /// <summary>A host or user name as one RDN value: characters a distinguished name treats specially are dropped.</summary>
    private static string Escape(string value)
    {
        var clean = new string(value.Where(c => char.IsLetterOrDigit(c) || c is '-' or '.' or '_').ToArray());
        return clean.Length == 0 ? "usbredir" : clean;
    }

    public override string ToString() => $"{Role} identity {Certificate.Subject} (key {Fingerprint})";
}
