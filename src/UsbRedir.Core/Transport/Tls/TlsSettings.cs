using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>
/// The one home of how the front ends' TLS parameters (-Tls/--tls, -TlsDirectory/--tls-dir, -Certificate) become
/// <see cref="TlsClientOptions"/> and <see cref="TlsServerOptions"/>, so Connect-UsbDevice, Start-UsbRedirServer,
/// usbredir connect and usbredir server agree.
/// </summary>
public static class TlsSettings
{
    /// <summary>The words --tls takes: plaintext (or off), tls (or on), auto.</summary>
    public const string ModeWords = "plaintext|tls|auto";

    /// <summary>Parses --tls: "plaintext"/"off", "tls"/"on", "auto" (any case).</summary>
    public static TlsMode ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "plaintext" or "off" or "plain" => TlsMode.Plaintext,
        "tls" or "on" => TlsMode.Tls,
        "auto" => TlsMode.Auto,
        _ => throw new UsbRedirException("TlsModeInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"'{text}' is not a TLS mode.", $"Give one of {ModeWords}.", text),
    };

    /// <summary>
    /// TLS for the connecting end. Nothing given: null (plaintext, as before TLS existed). A directory (QEMU layout:
    /// ca-cert.pem, client-cert.pem, client-key.pem) or a certificate without a mode: TLS only. A mode without either: that
    /// mode with the system's trusted roots and no client certificate.
    /// </summary>
    /// <param name="certificate">Our client certificate with its key; overrides the directory's client-cert.pem.</param>
    public static TlsClientOptions? ForClient(TlsMode? mode, string? directory, X509Certificate2? certificate)
    {
        if (mode is null && directory is null && certificate is null)
            return null;
        var options = directory is null ? new TlsClientOptions() : TlsClientOptions.FromDirectory(directory);
        return options with
        {
            Mode = mode ?? TlsMode.Tls,
            ClientCertificate = certificate ?? options.ClientCertificate,
        };
    }

    /// <summary>
    /// TLS for the accepting end (a server, a listening connection). Nothing given: null (plaintext). A directory (QEMU
    /// layout: server-cert.pem, server-key.pem, ca-cert.pem) or a certificate without a mode: TLS only. Clients must
    /// present a certificate signed by the directory's ca-cert.pem when there is one; without a CA, client certificates
    /// are optional (and judged by the validator, if any).
    /// </summary>
    /// <param name="certificate">Our server certificate with its key; overrides the directory's server-cert.pem.</param>
    /// <exception cref="UsbRedirException">TLS is asked for without a certificate (TlsServerCertificateMissing), or a file is missing or unreadable.</exception>
    public static TlsServerOptions? ForServer(TlsMode? mode, string? directory, X509Certificate2? certificate)
    {
        if (mode is null && directory is null && certificate is null)
            return null;
        TlsServerOptions options;
        if (directory is not null)
        {
            var dir = TlsDirectory.Open(directory);
            var roots = TlsDirectory.LoadCertificates(dir, TlsDirectory.CaCertificate);
            options = new TlsServerOptions
            {
                ServerCertificate = certificate ?? TlsDirectory.LoadIdentity(dir, TlsDirectory.ServerCertificate, TlsDirectory.ServerKey),
                TrustedRoots = roots,
                RequireClientCertificate = roots is not null,
            };
        }
        else
        {
            options = new TlsServerOptions { ServerCertificate = certificate, RequireClientCertificate = false };
        }
        options = options with { Mode = mode ?? TlsMode.Tls };
        options.Validate();
        return options;
    }
}
