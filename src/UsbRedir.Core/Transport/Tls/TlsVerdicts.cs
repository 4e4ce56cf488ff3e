using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>UsbRedir's own judgement of a peer certificate (<see cref="TlsPeerValidationContext.DefaultVerdict"/>), with errors naming cause and fix.</summary>
internal static class TlsVerdicts
{
    public static TlsValidationResult Default(TlsSide side, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors,
        string? host, IPEndPoint? remote, bool requireCertificate)
    {
        var who = side == TlsSide.Client ? $"The server {remote}" : $"The client {remote}";
        if (certificate is null)
        {
            if (!requireCertificate)
                return TlsValidationResult.Accept;
            return side == TlsSide.Client
                ? TlsValidationResult.Reject("TlsCertificateMissing", $"{who} presented no certificate.", "Configure the server with a certificate (QEMU: tls-creds-x509 dir with server-cert.pem).")
                : TlsValidationResult.Reject("TlsClientCertificateMissing", $"{who} presented no client certificate, and this end requires one.",
                    "Give the client a certificate signed by this end's CA (usbredir tls new-client; then usbredir connect --tls-dir DIR or Connect-UsbDevice -TlsDirectory DIR).");
        }
        var now = DateTime.Now;
        var subject = certificate.Subject;
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            var status = chain?.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status) ?? X509ChainStatusFlags.NoError;
            if (certificate.NotAfter < now)
                return TlsValidationResult.Reject("TlsCertificateExpired",
                    $"{who}'s certificate '{subject}' expired on {certificate.NotAfter.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}.",
                    Renew(side));
            if (certificate.NotBefore > now)
                return TlsValidationResult.Reject("TlsCertificateNotYetValid",
                    $"{who}'s certificate '{subject}' is not valid before {certificate.NotBefore.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}.",
                    "Check the clock of both machines, or make a certificate valid from now (" + Renew(side) + ")");
            if ((status & X509ChainStatusFlags.NotTimeValid) != 0)
                return TlsValidationResult.Reject("TlsCertificateExpired",
                    $"{who}'s certificate chain for '{subject}' holds a CA certificate that is expired or not yet valid.", "Renew the CA (usbredir tls new-ca) and the certificates it signed.");
            if ((status & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
                return TlsValidationResult.Reject("TlsCertificateUntrusted",
                    $"{who}'s certificate '{subject}' (issued by '{certificate.Issuer}') is not signed by a CA this end trusts.",
                    side == TlsSide.Client
                        ? "Give the CA that signed the server's certificate (its ca-cert.pem in --tls-dir / -TlsDirectory), or check that you reach the right server."
                        : "Sign the client's certificate with this server's CA (usbredir tls new-client --tls-dir DIR with the server's ca-cert.pem and ca-key.pem).");
            var problems = chain?.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct() ?? [];
            return TlsValidationResult.Reject("TlsCertificateInvalid",
                $"{who}'s certificate '{subject}' is not valid: {string.Join("; ", problems.DefaultIfEmpty(status.ToString()))}.",
                "Make a new certificate set (New-UsbRedirCertificate / usbredir tls new-ca|new-server|new-client).");
        }
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            return TlsValidationResult.Reject("TlsHostNameMismatch",
                $"{who}'s certificate is for {Names(certificate)}, not for '{host}'.",
                $"Connect by a name or address the certificate carries, or make the server a certificate for '{host}' (usbredir tls new-server --host {host}; New-UsbRedirCertificate -Server -HostName {host}).");
        if (errors != SslPolicyErrors.None)
            return TlsValidationResult.Reject("TlsCertificateInvalid", $"{who}'s certificate '{subject}' was refused: {errors}.", null);
        return TlsValidationResult.Accept;
    }

    private static string Renew(TlsSide side) => side == TlsSide.Client
        ? "Renew the server's certificate (usbredir tls new-server; New-UsbRedirCertificate -Server)."
        : "Renew the client's certificate (usbredir tls new-client; New-UsbRedirCertificate -Client).";

    /// <summary>The DNS names and addresses of the certificate's SAN, else its CN.</summary>
    private static string Names(X509Certificate2 certificate)
    {
        var san = certificate.Extensions.Cast<X509Extension>().FirstOrDefault(e => e.Oid?.Value == "2.5.29.17") is { } ext
            ? ext as X509SubjectAlternativeNameExtension ?? new X509SubjectAlternativeNameExtension(ext.RawData, ext.Critical)
            : null;
        var names = san is null ? [] : san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(a => a.ToString())).ToList();
        if (names.Count == 0)
            names.Add(certificate.GetNameInfo(X509NameType.SimpleName, false));
        return string.Join(", ", names.Select(n => $"'{n}'"));
    }
}
