using UsbRedir.Transport;

namespace UsbRedir.Security;

/// <summary>A server this user trusts: where (host:port as written when connecting) and the fingerprint of its key.</summary>
public sealed record KnownServer(string Server, KeyFingerprint Key, int Line)
{
    public override string ToString() => $"{Server} {Key}";
}

/// <summary>What <see cref="KnownServers.Check"/> found for a server's key.</summary>
public enum ServerKeyStatus
{
    /// <summary>The server is listed with this key.</summary>
    Known,

    /// <summary>The server is not listed: a first connection.</summary>
    Unknown,

    /// <summary>The server is listed with another key: it changed its key, or someone stands in between.</summary>
    Changed,
}

/// <summary>
/// The client's <c>known_servers</c> file in the configuration folder, like ssh's known_hosts: one server a line,
/// <c>HOST:PORT SHA256:...</c>, comments after <c>#</c>. The first connection to a server records its key
/// (trust on first use); a later connection whose server shows another key is refused until the user removes the old
/// entry (<c>usbredir trust remove HOST:PORT</c>, <c>Remove-UsbRedirKnownServer</c>). A server may be listed with
/// several keys (any of them is accepted). The reader never fails on content: bad lines are skipped with a warning
/// naming their line number. Each instance is a snapshot; the changing methods re-read the file just before writing.
/// </summary>
public sealed class KnownServers
{
    /// <summary>The file's name in the configuration folder.</summary>
    public const string FileName = "known_servers";

    private readonly string? _text;

    private KnownServers(UsbRedirConfigFolder folder, string? text)
    {
        Folder = folder;
        _text = text;
        var warnings = new List<TrustFileWarning>();
        var entries = new List<KnownServer>();
        foreach (var line in TrustFile.Read(text, Path, warnings))
        {
            if (line.Words.Count != 2)
            {
                warnings.Add(new TrustFileWarning(Path, line.Number, $"expected HOST:PORT and a key fingerprint, found {line.Words.Count} word(s); skipped"));
                continue;
            }
            if (!UsbRedirEndpoint.TryParse(line.Words[0], out var server))
            {
                warnings.Add(new TrustFileWarning(Path, line.Number, $"'{line.Words[0]}' is not HOST:PORT; skipped"));
                continue;
            }
            if (!KeyFingerprint.TryParse(line.Words[1], out var key))
            {
                warnings.Add(new TrustFileWarning(Path, line.Number, $"'{line.Words[1]}' is not a key fingerprint (SHA256:...); skipped"));
                continue;
            }
            entries.Add(new KnownServer(KeyOf(server!), key, line.Number));
        }
        Entries = entries;
        Warnings = warnings.OrderBy(w => w.Line).ToArray();
    }

    /// <summary>Reads the file of <paramref name="folder"/> (none yet: no entries).</summary>
    /// <exception cref="UsbRedirException">The file exists but cannot be read (ConfigFileReadFailed).</exception>
    public static KnownServers Load(UsbRedirConfigFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return new KnownServers(folder, folder.ReadFile(FileName));
    }

    public UsbRedirConfigFolder Folder { get; }

    /// <summary>The file's full path.</summary>
    public string Path => Folder.File(FileName);

    public IReadOnlyList<KnownServer> Entries { get; }

    /// <summary>Lines that were skipped, and why.</summary>
    public IReadOnlyList<TrustFileWarning> Warnings { get; }

    /// <summary>How a server is written in the file: host in lower case, IPv6 in brackets, always with its port.</summary>
    public static string KeyOf(UsbRedirEndpoint server)
    {
        ArgumentNullException.ThrowIfNull(server);
        return (server with { Host = server.Host.ToLowerInvariant() }).ToString();
    }

    /// <summary>The keys recorded for <paramref name="server"/>.</summary>
    public IReadOnlyList<KnownServer> Find(UsbRedirEndpoint server)
    {
        var key = KeyOf(server);
        return Entries.Where(e => e.Server == key).ToArray();
    }

    /// <summary>Whether <paramref name="server"/> is listed with <paramref name="key"/>, not listed, or listed with another key.</summary>
    public ServerKeyStatus Check(UsbRedirEndpoint server, KeyFingerprint key)
    {
        var found = Find(server);
        return found.Count == 0 ? ServerKeyStatus.Unknown
            : found.Any(e => e.Key == key) ? ServerKeyStatus.Known
            : ServerKeyStatus.Changed;
    }

    /// <summary>Records <paramref name="key"/> for <paramref name="server"/> (nothing when already there) and returns the file as it is now.</summary>
    /// <exception cref="UsbRedirException">The file cannot be read or written.</exception>
    public KnownServers Add(UsbRedirEndpoint server, KeyFingerprint key)
    {
        if (key.IsEmpty)
            throw new ArgumentException("An empty fingerprint names no key.", nameof(key));
        var current = Load(Folder);
        if (current.Check(server, key) == ServerKeyStatus.Known)
            return current;
        var line = $"{KeyOf(server)} {key}  # added {DateTimeOffset.Now:yyyy-MM-dd}";
        Folder.WritePrivateFile(FileName, TrustFile.Edit(current._text, new HashSet<int>(), [line]));
        return Load(Folder);
    }

    /// <summary>Removes every key recorded for <paramref name="server"/>; returns how many lines went, and the file as it is now.</summary>
    /// <exception cref="UsbRedirException">The file cannot be read or written.</exception>
    public (int Removed, KnownServers Now) Remove(UsbRedirEndpoint server)
    {
        var current = Load(Folder);
        var lines = current.Find(server).Select(e => e.Line).ToHashSet();
        if (lines.Count == 0)
            return (0, current);
        Folder.WritePrivateFile(FileName, TrustFile.Edit(current._text, lines, []));
        return (lines.Count, Load(Folder));
    }
}
