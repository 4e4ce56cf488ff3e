using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>
/// Who the TLS peer is, from the certificate it presented: for display, logs, pinning (trust on first use) and per-client
/// policy. Fingerprints are upper-case hex without separators; <see cref="PublicKeySha256"/> (over the
/// SubjectPublicKeyInfo) stays the same when a certificate is renewed with the same key, <see cref="CertificateSha256"/>
/// does not.
/// </summary>
public sealed class TlsPeerIdentity
{
    private TlsPeerIdentity(X509Certificate2 certificate)
    {
        Certificate = certificate;
        Subject = certificate.Subject;
        Issuer = certificate.Issuer;
        NotBefore = certificate.NotBefore.ToUniversalTime();
        NotAfter = certificate.NotAfter.ToUniversalTime();
        CertificateSha256 = Convert.ToHexString(SHA256.HashData(certificate.RawData));
        PublicKeySha256 = Convert.ToHexString(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    /// <summary>The identity of <paramref name="certificate"/> (a copy of it is kept, so the caller may dispose its own).</summary>
    public static TlsPeerIdentity From(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new TlsPeerIdentity(new X509Certificate2(certificate.GetRawCertData()));
    }

    /// <summary>The peer's certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate's subject distinguished name, e.g. "CN=bob, O=UsbRedir".</summary>
    public string Subject { get; }

    /// <summary>The subject's common name (CN), or the whole subject when it has none.</summary>
    public string CommonName => Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) is { Length: > 0 } cn ? cn : Subject;

    /// <summary>The issuer's distinguished name.</summary>
    public string Issuer { get; }

    /// <summary>Start of the certificate's validity, UTC.</summary>
    public DateTime NotBefore { get; }

    /// <summary>End of the certificate's validity, UTC.</summary>
    public DateTime NotAfter { get; }

    /// <summary>SHA-256 of the DER certificate, hex (what <c>openssl x509 -fingerprint -sha256</c> shows, without colons).</summary>
    public string CertificateSha256 { get; }

    /// <summary>SHA-256 of the certificate's DER SubjectPublicKeyInfo, hex: the key's fingerprint, stable across renewals.</summary>
    public string PublicKeySha256 { get; }

    /// <summary>"CN=bob (key SHA256:AB12...)": for log lines.</summary>
    public override string ToString() => $"{Subject} (key SHA256:{PublicKeySha256})";
}
