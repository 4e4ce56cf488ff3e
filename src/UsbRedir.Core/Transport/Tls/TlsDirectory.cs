using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>
/// QEMU's TLS directory layout (<c>-object tls-creds-x509,dir=DIR</c>), which libvirt uses too and UsbRedir reads and
/// writes, so one set of files serves all three: <c>ca-cert.pem</c> (the CA), <c>server-cert.pem</c> +
/// <c>server-key.pem</c>, <c>client-cert.pem</c> + <c>client-key.pem</c>. The one home of those names.
/// </summary>
public static class TlsDirectory
{
    public const string CaCertificate = "ca-cert.pem";
    /// <summary>The CA's private key: written by the tooling next to the set (QEMU never reads it); keep it elsewhere in production.</summary>
    public const string CaKey = "ca-key.pem";
    public const string ServerCertificate = "server-cert.pem";
    public const string ServerKey = "server-key.pem";
    public const string ClientCertificate = "client-cert.pem";
    public const string ClientKey = "client-key.pem";

    /// <summary>The full path of an existing directory.</summary>
    internal static string Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full))
            throw new UsbRedirException("TlsDirectoryNotFound", UsbRedirErrorCategory.ObjectNotFound,
                $"The TLS directory '{full}' does not exist.",
                "Give the directory holding ca-cert.pem, server-cert.pem/server-key.pem or client-cert.pem/client-key.pem (QEMU's layout); New-UsbRedirCertificate / usbredir tls new-ca creates one.", full);
        return full;
    }

    /// <summary>Every certificate in a PEM file of the directory, or null when the file does not exist.</summary>
    public static X509Certificate2Collection? LoadCertificates(string directory, string fileName)
    {
        var path = Path.Combine(directory, fileName);
        if (!File.Exists(path))
            return null;
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw Invalid(path, e);
        }
        if (certificates.Count == 0)
            throw Invalid(path, null);
        return certificates;
    }

    /// <summary>A certificate with its private key from two PEM files of the directory.</summary>
    public static X509Certificate2 LoadIdentity(string directory, string certificateFile, string keyFile) =>
        LoadOptionalIdentity(directory, certificateFile, keyFile) ?? throw Missing(directory, File.Exists(Path.Combine(directory, certificateFile)) ? keyFile : certificateFile);

    /// <summary>Like <see cref="LoadIdentity"/>, but null when neither file exists (one without the other is an error).</summary>
    public static X509Certificate2? LoadOptionalIdentity(string directory, string certificateFile, string keyFile)
    {
        var certPath = Path.Combine(directory, certificateFile);
        var keyPath = Path.Combine(directory, keyFile);
        bool hasCert = File.Exists(certPath), hasKey = File.Exists(keyPath);
        if (!hasCert && !hasKey)
            return null;
        if (!hasCert || !hasKey)
            throw Missing(directory, hasCert ? keyFile : certificateFile);
        try
        {
            using var loaded = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            // An ephemeral key cannot be used by SslStream on Windows; a PKCS#12 round trip gives a usable one everywhere.
            return new X509Certificate2(loaded.Export(X509ContentType.Pkcs12));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new UsbRedirException("TlsFileInvalid", UsbRedirErrorCategory.InvalidData,
                $"Cannot load the certificate '{certPath}' with its key '{keyPath}': {e.Message}",
                "Check that both are PEM files and that the key belongs to the certificate (and is not encrypted).", certPath, e);
        }
    }

    internal static UsbRedirException Missing(string directory, string fileName) =>
        new("TlsFileMissing", UsbRedirErrorCategory.ObjectNotFound,
            $"The TLS directory '{directory}' has no {fileName}.",
            $"Put {fileName} there (QEMU's layout), or create it: New-UsbRedirCertificate / usbredir tls new-ca|new-server|new-client.", Path.Combine(directory, fileName));

    private static UsbRedirException Invalid(string path, Exception? e) =>
        new("TlsFileInvalid", UsbRedirErrorCategory.InvalidData,
            $"'{path}' holds no readable PEM certificate{(e is null ? "" : ": " + e.Message)}.",
            "Give a PEM file (-----BEGIN CERTIFICATE-----), as QEMU and openssl write them.", path, e);

    internal static UsbRedirException NoPrivateKey(X509Certificate2 certificate, string role) =>
        new("TlsPrivateKeyMissing", UsbRedirErrorCategory.InvalidArgument,
            $"The {role} certificate '{certificate.Subject}' comes without its private key.",
            $"Load it with its key (X509Certificate2.CreateFromPemFile(cert, key), or a .pfx), or give --tls-dir with {role}-cert.pem and {role}-key.pem.", certificate.Subject);
}
