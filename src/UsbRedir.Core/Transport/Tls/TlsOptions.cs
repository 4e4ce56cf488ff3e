using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>Settings both ends share.</summary>
public abstract record TlsEndOptions
{
    /// <summary>Pieces of plaintext per TLS record written towards a peer: QEMU before 8.0 stalls on records above 4096.</summary>
    public const int QemuSafeRecordSize = 4096;

    /// <summary>TLS's own limit of plaintext bytes per record (2^14).</summary>
    public const int MaxRecordSize = 16384;

    /// <summary>Plaintext only, TLS only (the default), or decided per connection (see <see cref="TlsMode"/>).</summary>
    public TlsMode Mode { get; init; } = TlsMode.Tls;

    /// <summary>
    /// The CA certificates a peer's certificate must chain to (QEMU's ca-cert.pem); null trusts the system's store. When
    /// set, only these roots are trusted.
    /// </summary>
    public X509Certificate2Collection? TrustedRoots { get; init; }

    /// <summary>
    /// Judges the peer's certificate during the handshake; null applies <see cref="TlsPeerValidationContext.DefaultVerdict"/>
    /// (chain to <see cref="TrustedRoots"/>, valid now, and on the client the host name).
    /// </summary>
    public TlsPeerValidator? Validator { get; init; }

    /// <summary>Decides, once the transport is up (plaintext or TLS), whether the connection may go on; null admits all.</summary>
    public ConnectionAdmission? Admit { get; init; }

    /// <summary>TLS versions offered: 1.2 and 1.3 by default.</summary>
    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// Limit for the TLS handshake, and then for the peer's first usbredir bytes over TLS (both ends send their hello as
    /// soon as the link is up). A peer that stalls past it is dropped (TlsHandshakeTimedOut / TlsNoHello).
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most plaintext bytes per TLS record (per SslStream write); 4096 by default, which QEMU 7.2 needs (see
    /// <see cref="QemuSafeRecordSize"/>). 16384 (TLS's own maximum) writes fewer, larger records.
    /// </summary>
    public int MaxRecordPlaintext { get; init; } = QemuSafeRecordSize;

    /// <summary>
    /// True (the default): <see cref="MaxRecordPlaintext"/> holds until the peer's usbredir hello has been read, and then only
    /// for a peer whose hello names QEMU ("qemu usb-redir guest ..."); other peers get full 16 KiB records, which cost
    /// about half as much CPU per byte. False: every write towards every peer keeps to <see cref="MaxRecordPlaintext"/>.
    /// </summary>
    public bool LimitRecordsOnlyForQemu { get; init; } = true;

    internal void ValidateCommon()
    {
        if (MaxRecordPlaintext is < 512 or > MaxRecordSize)
            throw new UsbRedirException("TlsRecordSizeInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"MaxRecordPlaintext must be from 512 to {MaxRecordSize}, not {MaxRecordPlaintext}.", $"Use {QemuSafeRecordSize} (what QEMU 7.2 needs) or {MaxRecordSize}.", MaxRecordPlaintext);
        if (HandshakeTimeout <= TimeSpan.Zero)
            throw new UsbRedirException("TlsHandshakeTimeoutInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"HandshakeTimeout must be positive, not {HandshakeTimeout}.", null, HandshakeTimeout);
    }
}

/// <summary>TLS for the connecting end (Connect-UsbDevice, usbredir connect).</summary>
public sealed record TlsClientOptions : TlsEndOptions
{
    /// <summary>Our certificate with its private key, presented when the server asks (QEMU with verify-peer=on does); null: none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>The name the server's certificate must carry (a DNS or IP SAN); null: the host we connect to.</summary>
    public string? TargetHost { get; init; }

    /// <summary>
    /// <see cref="TlsMode.Auto"/> only: how long to wait after connecting for the peer to speak first (a plaintext
    /// usb-redir server sends its hello at once) before starting TLS.
    /// </summary>
    public TimeSpan PeerSpeaksFirstWait { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Client settings from a QEMU-style TLS directory: ca-cert.pem (trusted roots), and client-cert.pem with
    /// client-key.pem when both exist.
    /// </summary>
    /// <exception cref="UsbRedirException">The directory or a file is missing or unreadable (TlsDirectoryNotFound, TlsFileMissing, TlsFileInvalid).</exception>
    public static TlsClientOptions FromDirectory(string directory, TlsMode mode = TlsMode.Tls)
    {
        var dir = TlsDirectory.Open(directory);
        return new TlsClientOptions
        {
            Mode = mode,
            TrustedRoots = TlsDirectory.LoadCertificates(dir, TlsDirectory.CaCertificate),
            ClientCertificate = TlsDirectory.LoadOptionalIdentity(dir, TlsDirectory.ClientCertificate, TlsDirectory.ClientKey),
        };
    }

    internal void Validate()
    {
        ValidateCommon();
        if (ClientCertificate is { HasPrivateKey: false })
            throw TlsDirectory.NoPrivateKey(ClientCertificate, "client");
    }
}

/// <summary>TLS for the accepting end (a server, and a client's listen mode).</summary>
public sealed record TlsServerOptions : TlsEndOptions
{
    /// <summary>Our certificate with its private key (required unless <see cref="TlsEndOptions.Mode"/> is Plaintext).</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>
    /// True (the default): a client must present a certificate, judged by <see cref="TlsEndOptions.Validator"/> (by default:
    /// signed by <see cref="TlsEndOptions.TrustedRoots"/>). False: a certificate is asked for but optional.
    /// </summary>
    public bool RequireClientCertificate { get; init; } = true;

    /// <summary>
    /// How long an accepted connection may stay silent before its first bytes decide its kind (<see cref="TlsMode.Auto"/>
    /// and <see cref="TlsMode.Tls"/>). On expiry a TLS-only port drops it (handshake timeout); an Auto port serves it plaintext.
    /// </summary>
    public TimeSpan FirstBytesTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Server settings from a QEMU-style TLS directory: server-cert.pem with server-key.pem (required), ca-cert.pem
    /// (trusted roots for client certificates, required when <paramref name="requireClientCertificate"/>).
    /// </summary>
    /// <exception cref="UsbRedirException">The directory or a file is missing or unreadable (TlsDirectoryNotFound, TlsFileMissing, TlsFileInvalid).</exception>
    public static TlsServerOptions FromDirectory(string directory, TlsMode mode = TlsMode.Tls, bool requireClientCertificate = true)
    {
        var dir = TlsDirectory.Open(directory);
        return new TlsServerOptions
        {
            Mode = mode,
            ServerCertificate = TlsDirectory.LoadIdentity(dir, TlsDirectory.ServerCertificate, TlsDirectory.ServerKey),
            TrustedRoots = requireClientCertificate
                ? TlsDirectory.LoadCertificates(dir, TlsDirectory.CaCertificate) ?? throw TlsDirectory.Missing(dir, TlsDirectory.CaCertificate)
                : TlsDirectory.LoadCertificates(dir, TlsDirectory.CaCertificate),
            RequireClientCertificate = requireClientCertificate,
        };
    }

    internal void Validate()
    {
        ValidateCommon();
        if (Mode == TlsMode.Plaintext)
            return;
        if (ServerCertificate is null)
            throw new UsbRedirException("TlsServerCertificateMissing", UsbRedirErrorCategory.InvalidArgument,
                "A TLS server needs a certificate with its private key.",
                "Give one (-Certificate, --tls-dir DIR with server-cert.pem and server-key.pem); New-UsbRedirCertificate / usbredir tls new-server makes one.");
        if (!ServerCertificate.HasPrivateKey)
            throw TlsDirectory.NoPrivateKey(ServerCertificate, "server");
        if (FirstBytesTimeout <= TimeSpan.Zero)
            throw new UsbRedirException("TlsFirstBytesTimeoutInvalid", UsbRedirErrorCategory.InvalidArgument,
                $"FirstBytesTimeout must be positive, not {FirstBytesTimeout}.", null, FirstBytesTimeout);
    }
}
