using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Transport.Tls;

/// <summary>
/// Turns a connected socket into a <see cref="ByteStreamConnection"/>: plaintext, or TLS over <see cref="SslStream"/>
/// (TLS 1.2/1.3), as the end's <see cref="TlsMode"/> and the peer's first bytes decide. Failures are
/// <see cref="UsbRedirException"/>s naming the cause and the fix; the socket is closed then.
/// </summary>
public static class SecureTransport
{
    /// <summary>First byte of a TLS record carrying a handshake message (a ClientHello starts 0x16 0x03).</summary>
    private const byte TlsHandshakeRecord = 0x16;

    private static readonly ConditionalWeakTable<X509Certificate2, SslStreamCertificateContext> CertificateContexts = new();

    /// <summary>
    /// The cipher suites both ends offer: the same set as OpenSSL's defaults here (all three TLS 1.3 suites; OpenSSL's
    /// DEFAULT list for TLS 1.2), so no peer that connected before is refused, with AES-128-GCM first. OpenSSL puts
    /// AES-256-GCM first; AES-128-GCM's sealing and opening cost about 5 % less CPU per byte (about 2 % of a whole link's
    /// cost: tls benchmark, docs/benchmarks.md), and it is the suite TLS 1.3 requires every peer to have. OpenSSL and
    /// GnuTLS servers (QEMU) follow the client's order by default. Linux only (.NET takes no cipher policy on Windows;
    /// there the system's order applies).
    /// </summary>
    private static readonly TlsCipherSuite[] PreferredCipherSuites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
    ];

    /// <summary><see cref="PreferredCipherSuites"/> as a policy, where .NET takes one (Linux); else null.</summary>
    private static readonly CipherSuitesPolicy? CipherPolicy = OperatingSystem.IsLinux() ? new CipherSuitesPolicy(PreferredCipherSuites) : null;

    /// <summary>
    /// The connecting end: after TCP connect to <paramref name="targetHost"/>, runs plaintext (null options, or
    /// <see cref="TlsMode.Plaintext"/>), TLS, or in <see cref="TlsMode.Auto"/> whichever the peer's behaviour says, then
    /// applies <see cref="TlsEndOptions.Admit"/>.
    /// </summary>
    /// <exception cref="UsbRedirException">The handshake failed, the peer was refused, or it refused us (ErrorIds Tls*).</exception>
    public static async Task<ByteStreamConnection> ClientAsync(Socket socket, string targetHost, TlsClientOptions? options,
        CancellationToken cancellationToken)
    {
        var remote = socket.RemoteEndPoint as IPEndPoint;
        try
        {
            options?.Validate();
            var mode = options?.Mode ?? TlsMode.Plaintext;
            var tls = mode == TlsMode.Tls || (mode == TlsMode.Auto && !await PeerSpeaksFirstAsync(socket, options!.PeerSpeaksFirstWait, cancellationToken).ConfigureAwait(false));
            var connection = tls
                ? await TlsClientAsync(socket, targetHost, options!, remote, cancellationToken).ConfigureAwait(false)
                : Plaintext(socket, remote, mode);
            return await AdmitAsync(connection, options?.Admit).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The accepting end (a server, a client's listen mode): plaintext at once for null options or
    /// <see cref="TlsMode.Plaintext"/> (a peer that starts TLS is then told off by the connection, TlsToPlaintextPort);
    /// otherwise waits for the peer's first bytes and runs TLS for a ClientHello, plaintext for anything else in
    /// <see cref="TlsMode.Auto"/>, a refusal (TlsPeerSpeaksPlaintext) in <see cref="TlsMode.Tls"/>. Then applies
    /// <see cref="TlsEndOptions.Admit"/>. Every wait is bounded (<see cref="TlsServerOptions.FirstBytesTimeout"/>,
    /// <see cref="TlsEndOptions.HandshakeTimeout"/>).
    /// </summary>
    /// <exception cref="UsbRedirException">The peer was refused or the handshake failed; the message names the peer.</exception>
    public static async Task<ByteStreamConnection> ServerAsync(Socket socket, TlsServerOptions? options, CancellationToken cancellationToken)
    {
        var remote = socket.RemoteEndPoint as IPEndPoint;
        try
        {
            options?.Validate();
            var mode = options?.Mode ?? TlsMode.Plaintext;
            var tls = mode != TlsMode.Plaintext && await ClassifyAsync(socket, options!, remote, cancellationToken).ConfigureAwait(false);
            var connection = tls
                ? await TlsServerAsync(socket, options!, remote, cancellationToken).ConfigureAwait(false)
                : Plaintext(socket, remote, mode);
            return await AdmitAsync(connection, options?.Admit).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static ByteStreamConnection Plaintext(Socket socket, IPEndPoint? remote, TlsMode mode) =>
        new(new NetworkStream(socket, ownsSocket: true), remote?.ToString() ?? "?") { Security = ConnectionSecurity.Plaintext(remote, mode) };

    private static async Task<ByteStreamConnection> AdmitAsync(ByteStreamConnection connection, ConnectionAdmission? admit)
    {
        if (admit is null)
            return connection;
        TlsValidationResult verdict;
        try
        {
            verdict = admit(connection.Security);
        }
        catch (Exception e)
        {
            verdict = TlsValidationResult.Reject("ConnectionAdmissionFailed", $"The admission policy failed for {connection.Peer}: {e.Message}", null);
        }
        if (verdict.Accepted)
            return connection;
        await connection.DisposeAsync().ConfigureAwait(false);
        throw verdict.ToException(connection.Peer)!;
    }

    /// <summary>Client, Auto: true when the peer sends something within <paramref name="wait"/> (a plaintext usb-redir server's hello).</summary>
    private static async Task<bool> PeerSpeaksFirstAsync(Socket socket, TimeSpan wait, CancellationToken cancellationToken)
    {
        var first = new byte[1];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        try
        {
            await socket.ReceiveAsync(first, SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
            return true; // it spoke (or closed: the plaintext session reports that)
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Server, Auto or Tls: true when the first bytes are a TLS handshake record; else plaintext (Auto) or a refusal (Tls).</summary>
    private static async Task<bool> ClassifyAsync(Socket socket, TlsServerOptions options, IPEndPoint? remote, CancellationToken cancellationToken)
    {
        var first = new byte[4];
        int n;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(options.FirstBytesTimeout);
            try
            {
                n = await socket.ReceiveAsync(first, SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (options.Mode == TlsMode.Auto)
                    return false; // a plaintext peer that waits for our hello
                throw new UsbRedirException("TlsHandshakeTimedOut", UsbRedirErrorCategory.OperationTimeout,
                    $"{remote} sent nothing within {options.FirstBytesTimeout.TotalSeconds:0.#} s (handshake timeout): dropped.",
                    "A TLS client sends its ClientHello at once; check that the peer is configured for TLS.", remote);
            }
            catch (SocketException e)
            {
                throw new UsbRedirException("PeerClosed", UsbRedirErrorCategory.ConnectionError,
                    $"{remote} dropped the connection before sending anything: {e.Message}.", null, remote, e);
            }
        }
        if (n == 0)
            throw new UsbRedirException("PeerClosed", UsbRedirErrorCategory.ConnectionError,
                $"{remote} closed the connection before sending anything.", null, remote);
        if (first[0] == TlsHandshakeRecord)
            return true;
        if (options.Mode == TlsMode.Auto)
            return false;
        throw first[0] == 0
            ? PeerSpeaksPlaintext($"{remote}", "client")
            : new UsbRedirException("TlsPeerNotTls", UsbRedirErrorCategory.ProtocolError,
                $"{remote} sent neither a TLS ClientHello nor a usbredir hello (first byte 0x{first[0]:x2}) to this TLS port: dropped.",
                "Check what connects to this port.", remote);
    }

    private static UsbRedirException PeerSpeaksPlaintext(string peer, string peerRole) =>
        new("TlsPeerSpeaksPlaintext", UsbRedirErrorCategory.ProtocolError,
            $"The peer {peer} speaks plaintext usbredir (it sent a usbredir hello), but this end requires TLS.",
            peerRole == "server"
                ? "Configure TLS on the peer (QEMU: -object tls-creds-x509,...,endpoint=server and tls-creds= on the chardev), or connect to it without TLS if it is trusted (usbredir connect --tls off; Connect-UsbDevice -Tls Plaintext)."
                : "Configure TLS on the client (usbredir connect --tls-dir DIR; Connect-UsbDevice -TlsDirectory DIR; QEMU: tls-creds on its chardev), or let this end accept both (--tls auto; -Tls Auto).",
            peer);

    private static async Task<ByteStreamConnection> TlsClientAsync(Socket socket, string targetHost, TlsClientOptions options,
        IPEndPoint? remote, CancellationToken cancellationToken)
    {
        var peer = remote?.ToString() ?? targetHost;
        var recorder = new UnderSslStream(new NetworkStream(socket, ownsSocket: true));
        var ssl = new SslStream(recorder, leaveInnerStreamOpen: false);
        var host = options.TargetHost ?? targetHost;
        TlsValidationResult? verdict = null;
        var client = options.ClientCertificate;
        var sslOptions = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = options.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = ChainPolicy(options.TrustedRoots),
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                verdict = Judge(TlsSide.Client, options.Validator, certificate, chain, errors, host, remote, requireCertificate: true);
                return verdict.Accepted;
            },
        };
        if (OperatingSystem.IsLinux())
            sslOptions.CipherSuitesPolicy = CipherPolicy;
        if (client is not null)
        {
            sslOptions.ClientCertificates = [client];
            sslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => client;
        }
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(options.HandshakeTimeout);
                try
                {
                    await ssl.AuthenticateAsClientAsync(sslOptions, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (IsHandshakeFailure(e, cancellationToken))
                {
                    throw DescribeClientHandshakeFailure(e, verdict, recorder, peer, options.HandshakeTimeout, client is not null);
                }
            }
            var stream = new TlsStream(ssl, options.MaxRecordPlaintext, recorder, options.LimitRecordsOnlyForQemu);
            await ReadHelloAsync(stream, options.HandshakeTimeout, peer, client is not null, cancellationToken).ConfigureAwait(false);
            return new ByteStreamConnection(stream, peer) { Security = Describe(ssl, TlsSide.Client, options.Mode, remote) };
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<ByteStreamConnection> TlsServerAsync(Socket socket, TlsServerOptions options, IPEndPoint? remote,
        CancellationToken cancellationToken)
    {
        var peer = remote?.ToString() ?? "?";
        var recorder = new UnderSslStream(new NetworkStream(socket, ownsSocket: true));
        var ssl = new SslStream(recorder, leaveInnerStreamOpen: false);
        TlsValidationResult? verdict = null;
        var sslOptions = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = CertificateContexts.GetValue(options.ServerCertificate!,
                static c => SslStreamCertificateContext.Create(c, additionalCertificates: null, offline: true)),
            ClientCertificateRequired = true, // asked for always; whether one is needed is the validator's call
            EnabledSslProtocols = options.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = ChainPolicy(options.TrustedRoots),
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                verdict = Judge(TlsSide.Server, options.Validator, certificate, chain, errors, null, remote, options.RequireClientCertificate);
                return verdict.Accepted;
            },
        };
        if (OperatingSystem.IsLinux())
            sslOptions.CipherSuitesPolicy = CipherPolicy;
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(options.HandshakeTimeout);
                try
                {
                    await ssl.AuthenticateAsServerAsync(sslOptions, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (IsHandshakeFailure(e, cancellationToken))
                {
                    if (verdict is { Accepted: false } refused)
                        throw refused.ToException(peer, e)!;
                    if (e is OperationCanceledException)
                        throw new UsbRedirException("TlsHandshakeTimedOut", UsbRedirErrorCategory.OperationTimeout,
                            $"The TLS handshake with {peer} did not finish within {options.HandshakeTimeout.TotalSeconds:0.#} s (handshake timeout): dropped.",
                            "Check the peer's TLS configuration and the network.", peer, e);
                    throw new UsbRedirException("TlsHandshakeFailed", UsbRedirErrorCategory.ConnectionError,
                        $"The TLS handshake with {peer} failed: {Innermost(e)}.",
                        "Check that the client speaks TLS 1.2 or 1.3 and trusts this server's certificate.", peer, e);
                }
            }
            // No waiting for the client's first bytes here: the client waits for ours (see ReadHelloAsync), so the
            // session must start and send our hello. A client that then stays silent is dropped by DropIfSilent.
            return new ByteStreamConnection(new TlsStream(ssl, options.MaxRecordPlaintext, recorder, options.LimitRecordsOnlyForQemu), peer) { Security = Describe(ssl, TlsSide.Server, options.Mode, remote) };
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Client: waits for the server's first bytes over TLS (QEMU, usbredirect and a UsbRedir server all send their hello as
    /// soon as the link is up). A server that hangs up instead has refused us after the handshake (QEMU with
    /// verify-peer=on does that to a client without an acceptable certificate; TLS 1.3 servers report a refused client
    /// certificate only after the client finished); one that stays silent is dropped.
    /// </summary>
    private static async Task ReadHelloAsync(TlsStream stream, TimeSpan limit, string peer, bool presentedCertificate, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        Exception? failure = null;
        try
        {
            if (await stream.ReadAheadAsync(timeout.Token).ConfigureAwait(false) > 0)
                return;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw NoHello(peer, limit);
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException)
        {
            failure = e;
        }
        throw new UsbRedirException("TlsRejectedByPeer", UsbRedirErrorCategory.PermissionDenied,
            $"The connection to {peer} was rejected by the peer's TLS authorization: it closed the connection right after the handshake{(failure is null ? "" : " (" + Innermost(failure) + ")")}.",
            presentedCertificate
                ? "The peer does not accept our client certificate: use one signed by the CA the peer trusts (QEMU: ca-cert.pem in its tls-creds dir), or ask its owner to allow this client."
                : "The peer requires a client certificate: give one (usbredir connect --tls-dir DIR with client-cert.pem and client-key.pem; Connect-UsbDevice -TlsDirectory DIR or -Certificate).",
            peer, failure);
    }

    private static UsbRedirException NoHello(string peer, TimeSpan limit) =>
        new("TlsNoHello", UsbRedirErrorCategory.OperationTimeout,
            $"{peer} completed the TLS handshake but sent no usbredir hello within {limit.TotalSeconds:0.#} s: dropped.",
            "Check that the peer is a usbredir end (QEMU usb-redir, usbredirect, UsbRedir).", peer);

    /// <summary>
    /// Accepting end, TLS: ends <paramref name="link"/> (TlsNoHello) when the peer has sent nothing within
    /// <paramref name="limit"/> of the session's start, so a client that completes the handshake and then holds the
    /// connection open silently costs a bounded time. Plaintext links are left alone (as before TLS existed).
    /// </summary>
    internal static void DropIfSilent(ByteStreamConnection link, TimeSpan limit)
    {
        if (!link.Security.IsTls)
            return;
        _ = Task.Delay(limit).ContinueWith(_ =>
        {
            if (link.BytesReceived == 0 && !link.Completion.IsCompleted)
                link.Close(NoHello(link.Peer, limit));
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static bool IsHandshakeFailure(Exception e, CancellationToken cancellationToken) =>
        e is AuthenticationException or IOException or SocketException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static UsbRedirException DescribeClientHandshakeFailure(Exception e, TlsValidationResult? verdict, UnderSslStream recorder,
        string peer, TimeSpan limit, bool presentedCertificate)
    {
        if (verdict is { Accepted: false } refused)
            return refused.ToException(peer, e)!;
        var first = recorder.First;
        if (first.Length >= 4 && first[0] == 0 && first[1] == 0 && first[2] == 0 && first[3] == 0)
            return PeerSpeaksPlaintext(peer, "server");
        if (e is OperationCanceledException)
            return new UsbRedirException("TlsHandshakeTimedOut", UsbRedirErrorCategory.OperationTimeout,
                $"The TLS handshake with {peer} did not finish within {limit.TotalSeconds:0.#} s (handshake timeout).",
                "Check that the peer's port speaks TLS (QEMU: tls-creds on the chardev; UsbRedir: a server with a certificate).", peer, e);
        if (recorder.SawEnd && first.Length == 0)
            return new UsbRedirException("TlsPeerClosedDuringHandshake", UsbRedirErrorCategory.ConnectionError,
                $"{peer} closed the connection during the TLS handshake: it may be a plaintext-only usbredir port (which refuses TLS), or it refused our TLS version or certificate.",
                "Check that the peer has TLS on (QEMU: tls-creds on the chardev; usbredir server --tls-dir), or connect without TLS to a trusted plaintext peer (--tls off; -Tls Plaintext).", peer, e);
        return new UsbRedirException("TlsHandshakeFailed", UsbRedirErrorCategory.ConnectionError,
            $"The TLS handshake with {peer} failed: {Innermost(e)}.",
            presentedCertificate ? "Check that the peer trusts our client certificate's CA and speaks TLS 1.2 or 1.3."
                : "The peer may require a client certificate: give one (--tls-dir with client-cert.pem and client-key.pem; -TlsDirectory or -Certificate).", peer, e);
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
            e = inner;
        return e.Message.TrimEnd('.');
    }

    private static ConnectionSecurity Describe(SslStream ssl, TlsSide side, TlsMode mode, IPEndPoint? remote) => new()
    {
        IsTls = true,
        Side = side,
        Mode = mode,
        Protocol = ssl.SslProtocol,
        CipherSuite = ssl.NegotiatedCipherSuite.ToString(),
        PeerIdentity = ssl.RemoteCertificate is { } certificate ? TlsPeerIdentity.From(certificate) : null,
        RemoteEndPoint = remote,
    };

    private static X509ChainPolicy? ChainPolicy(X509Certificate2Collection? roots)
    {
        if (roots is null)
            return null;
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }

    private static TlsValidationResult Judge(TlsSide side, TlsPeerValidator? validator, X509Certificate? certificate, X509Chain? chain,
        SslPolicyErrors errors, string? host, IPEndPoint? remote, bool requireCertificate)
    {
        var cert2 = certificate is null ? null : certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        var verdict = TlsVerdicts.Default(side, cert2, chain, errors, host, remote, requireCertificate);
        if (validator is null)
            return verdict;
        try
        {
            return validator(new TlsPeerValidationContext(side, cert2, chain, errors, host, remote, verdict));
        }
        catch (Exception e)
        {
            return TlsValidationResult.Reject("TlsValidatorFailed", $"Checking the certificate of {remote} failed: {e.Message}", null);
        }
    }
}
