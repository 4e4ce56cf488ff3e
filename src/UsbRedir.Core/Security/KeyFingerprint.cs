using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace UsbRedir.Security;

/// <summary>
/// The SHA-256 of a certificate's public key (its DER SubjectPublicKeyInfo): what <c>known_servers</c> and
/// <c>authorized_clients</c> pin. Pinning the key, not the certificate, lets a peer renew its certificate with the same key
/// without being refused. Written <c>SHA256:</c> and 64 upper-case hex digits, as the TLS layer's peer identities show it
/// (<c>TlsPeerIdentity.PublicKeySha256</c>); <see cref="Parse"/> also takes the hex alone (colons allowed, as openssl
/// prints it) and ssh's form (<c>SHA256:</c> and 43 base64 characters).
/// </summary>
public readonly struct KeyFingerprint : IEquatable<KeyFingerprint>
{
    /// <summary>The prefix of the written form.</summary>
    public const string Prefix = "SHA256:";

    private readonly byte[]? _hash;

    private KeyFingerprint(byte[] hash) => _hash = hash;

    /// <summary>The 32 bytes of the hash.</summary>
    public ReadOnlySpan<byte> Hash => _hash;

    /// <summary>The fingerprint of a SubjectPublicKeyInfo in DER.</summary>
    public static KeyFingerprint FromSubjectPublicKeyInfo(ReadOnlySpan<byte> der) => new(SHA256.HashData(der));

    /// <summary>The fingerprint of <paramref name="certificate"/>'s public key.</summary>
    public static KeyFingerprint Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return FromSubjectPublicKeyInfo(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>A fingerprint from its 32 hash bytes.</summary>
    public static KeyFingerprint FromHash(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != SHA256.HashSizeInBytes)
            throw new ArgumentException($"A SHA-256 fingerprint has {SHA256.HashSizeInBytes} bytes, not {hash.Length}.", nameof(hash));
        return new KeyFingerprint(hash.ToArray());
    }

    /// <summary>Parses <c>SHA256:HEX</c>, HEX alone (colons allowed) or <c>SHA256:base64</c>.</summary>
    /// <exception cref="UsbRedirException">Neither form (FingerprintInvalid).</exception>
    public static KeyFingerprint Parse(string text) => TryParse(text, out var fingerprint)
        ? fingerprint
        : throw new UsbRedirException("FingerprintInvalid", UsbRedirErrorCategory.InvalidArgument,
            $"'{text}' is not a key fingerprint.",
            "Give it as UsbRedir prints it (SHA256: and 64 hex digits); colons between the digits are allowed.", text);

    public static bool TryParse(string? text, out KeyFingerprint fingerprint)
    {
        fingerprint = default;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var s = text.Trim();
        if (s.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            s = s[Prefix.Length..];
            if (s.Length == 43 && !s.Contains('='))
            {
                var bytes = new byte[SHA256.HashSizeInBytes];
                if (!Convert.TryFromBase64String(s + "=", bytes, out var written) || written != bytes.Length)
                    return false;
                fingerprint = new KeyFingerprint(bytes);
                return true;
            }
        }
        var hex = s.Replace(":", "", StringComparison.Ordinal);
        if (hex.Length != 2 * SHA256.HashSizeInBytes || !hex.All(Uri.IsHexDigit))
            return false;
        fingerprint = new KeyFingerprint(Convert.FromHexString(hex));
        return true;
    }

    /// <summary>False for <c>default</c>, which names no key.</summary>
    public bool IsEmpty => _hash is null;

    public bool Equals(KeyFingerprint other) => Hash.SequenceEqual(other.Hash);

    public override bool Equals(object? obj) => obj is KeyFingerprint other && Equals(other);

    public override int GetHashCode() => _hash is null ? 0 : BitConverter.ToInt32(_hash, 0);

    public static bool operator ==(KeyFingerprint left, KeyFingerprint right) => left.Equals(right);

    public static bool operator !=(KeyFingerprint left, KeyFingerprint right) => !left.Equals(right);

    /// <summary><c>SHA256:</c> and 64 upper-case hex digits.</summary>
    public override string ToString() => _hash is null ? "(none)" : Prefix + Convert.ToHexString(_hash);
}
