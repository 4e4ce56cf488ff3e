using System.Security.Cryptography.X509Certificates;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Tests.Transport.Tls;

/// <summary>
/// Certificate sets made once per test run by the project's own tooling (<see cref="TlsCertificateFactory"/>): a good
/// set in QEMU's layout, a second CA, and server certificates that are expired, not yet valid, or for another name.
/// </summary>
internal sealed class TlsTestCertificates
{
    private static readonly Lazy<TlsTestCertificates> Shared = new(() => new TlsTestCertificates());

    public static TlsTestCertificates Instance => Shared.Value;

    private TlsTestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("usbredir-tls-").FullName;
        var now = DateTimeOffset.UtcNow;
        // The CA is back-dated so that an expired certificate can be signed by it; server and client come from the tooling.
        using (var ca = TlsCertificateFactory.CreateCa("UsbRedir test CA", now.AddDays(-30), now.AddDays(365)))
            TlsCertificateFactory.Write(Directory, ca, TlsDirectory.CaCertificate, TlsDirectory.CaKey);
        TlsCertificateFactory.NewSigned(Directory, TlsCertificateKind.Server, "test server", ["localhost", "127.0.0.1", "::1"]);
        TlsCertificateFactory.NewSigned(Directory, TlsCertificateKind.Client, "test client");
        Ca = TlsDirectory.LoadIdentity(Directory, TlsDirectory.CaCertificate, TlsDirectory.CaKey);
        Server = TlsDirectory.LoadIdentity(Directory, TlsDirectory.ServerCertificate, TlsDirectory.ServerKey);
        Client = TlsDirectory.LoadIdentity(Directory, TlsDirectory.ClientCertificate, TlsDirectory.ClientKey);
        OtherCa = TlsCertificateFactory.CreateCa("another CA", now.AddDays(-1), now.AddDays(30));
        OtherClient = TlsCertificateFactory.CreateSigned(OtherCa, TlsCertificateKind.Client, "stranger", [], now.AddDays(-1), now.AddDays(30));
        OtherServer = TlsCertificateFactory.CreateSigned(OtherCa, TlsCertificateKind.Server, "impostor", ["127.0.0.1"], now.AddDays(-1), now.AddDays(30));
        Expired = TlsCertificateFactory.CreateSigned(Ca, TlsCertificateKind.Server, "expired", ["127.0.0.1"], now.AddDays(-10), now.AddDays(-1));
        NotYetValid = TlsCertificateFactory.CreateSigned(Ca, TlsCertificateKind.Server, "future", ["127.0.0.1"], now.AddDays(1), now.AddDays(10));
        WrongName = TlsCertificateFactory.CreateSigned(Ca, TlsCertificateKind.Server, "elsewhere", ["elsewhere.example"], now.AddDays(-1), now.AddDays(10));
    }

    /// <summary>ca-cert.pem, ca-key.pem, server-cert.pem (localhost, 127.0.0.1, ::1), server-key.pem, client-cert.pem, client-key.pem.</summary>
    public string Directory { get; }

    public X509Certificate2 Ca { get; }
    public X509Certificate2 Server { get; }
    public X509Certificate2 Client { get; }
    public X509Certificate2 OtherCa { get; }
    public X509Certificate2 OtherClient { get; }
    public X509Certificate2 OtherServer { get; }
    public X509Certificate2 Expired { get; }
    public X509Certificate2 NotYetValid { get; }
    public X509Certificate2 WrongName { get; }

    public X509Certificate2Collection Roots => [Ca];

    public TlsServerOptions ServerOptions(TlsMode mode = TlsMode.Tls) => TlsServerOptions.FromDirectory(Directory, mode);

    public TlsClientOptions ClientOptions(TlsMode mode = TlsMode.Tls) => TlsClientOptions.FromDirectory(Directory, mode);
}
