using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using UsbRedir.Filtering;

namespace UsbRedir.Security;

/// <summary>
/// A client the server's owner allowed: by the fingerprint of its key, or (for clients whose certificate a configured CA
/// signed) by its certificate's subject. <see cref="Filter"/>, when set, limits the devices it may push.
/// </summary>
public sealed record AuthorizedClient(KeyFingerprint? Key, string? Subject, string? Name, IReadOnlyList<UsbRedirFilterRule>? Filter, int Line)
{
    /// <summary>How commands name the client: its key fingerprint, or <c>subject=DN</c> (what Revoke-UsbRedirClient binds).</summary>
    public string Identity => Key is { } key ? key.ToString() : "subject=" + Subject;

    /// <summary>The entry's filter as a usbredir filter string, or null.</summary>
    public string? FilterText => Filter is null ? null : UsbRedirFilter.Format(Filter);

    /// <summary>How the entry is written in <c>authorized_clients</c>.</summary>
    public string ToLine()
    {
        var words = new List<string> { Key is { } key ? key.ToString() : "subject=" + TrustFile.Quote(Subject!) };
        if (Name is not null)
            words.Add("name=" + TrustFile.Quote(Name));
        if (Filter is not null)
            words.Add("filter=" + TrustFile.Quote(UsbRedirFilter.Format(Filter)));
        return string.Join(' ', words);
    }

    /// <summary>Who the entry names: its name, else its key or subject.</summary>
    public string Describe() => Name ?? (Key is { } key ? key.ToString() : $"subject {Subject}");

    public override string ToString() => ToLine();
}

/// <summary>
/// The server's <c>authorized_clients</c> file in its configuration folder, like ssh's authorized_keys: the clients that
/// may plug devices into this machine. One client a line: <c>SHA256:... [name=NAME] [filter=RULES]</c>, or
/// <c>subject="CN=alice,O=Example" [name=NAME] [filter=RULES]</c> for clients a configured CA signed (a subject alone
/// proves nothing: anyone can write any subject into a self-signed certificate, so subject lines only match CA-verified
/// clients). <c>filter=</c> takes usbredir filter rules (<c>0x08,-1,-1,-1,1|-1,-1,-1,-1,0</c>): the devices this client may
/// push, checked on top of the server's own filter. A line that cannot be read (unknown option, bad filter, bad
/// fingerprint) is skipped with a warning naming its line number: it allows nothing.
/// </summary>
public sealed class AuthorizedClients
{
    /// <summary>The file's name in the configuration folder.</summary>
    public const string FileName = "authorized_clients";

    private readonly string? _text;

    private AuthorizedClients(UsbRedirConfigFolder folder, string? text)
    {
        Folder = folder;
        _text = text;
        var warnings = new List<TrustFileWarning>();
        var entries = new List<AuthorizedClient>();
        foreach (var line in TrustFile.Read(text, Path, warnings))
        {
            if (ParseLine(line, out var error) is { } entry)
                entries.Add(entry);
            else
                warnings.Add(new TrustFileWarning(Path, line.Number, error! + "; skipped (it allows nothing)"));
        }
        Entries = entries;
        Warnings = warnings.OrderBy(w => w.Line).ToArray();
    }

    private static AuthorizedClient? ParseLine(TrustFileLine line, out string? error)
    {
        error = null;
        KeyFingerprint? key = null;
        string? subject = null, name = null;
        IReadOnlyList<UsbRedirFilterRule>? filter = null;
        var first = line.Words[0];
        if (TrustFile.Option(first, "subject") is { } dn)
        {
            subject = NormalizeSubject(dn);
            if (subject is null)
            {
                error = $"'{dn}' is not a distinguished name (e.g. \"CN=alice,O=Example\")";
                return null;
            }
        }
        else if (KeyFingerprint.TryParse(first, out var fingerprint))
        {
            key = fingerprint;
        }
        else
        {
            error = $"'{first}' is neither a key fingerprint (SHA256:...) nor subject=DN";
            return null;
        }
        foreach (var word in line.Words.Skip(1))
        {
            if (TrustFile.Option(word, "name") is { } n)
            {
                name = n;
            }
            else if (TrustFile.Option(word, "filter") is { } rules)
            {
                if ((UsbRedirFilter.TryParse(rules, null, out var parsed, out var filterError) ? UsbRedirFilter.Verify(parsed) : filterError) is { } invalid)
                {
                    error = $"filter '{rules}' is not valid: {invalid.Message}";
                    return null;
                }
                filter = parsed;
            }
            else
            {
                error = $"unknown word '{word}' (expected name=NAME or filter=RULES)";
                return null;
            }
        }
        return new AuthorizedClient(key, subject, name, filter, line.Number);
    }

    /// <summary>A subject in one canonical form (<c>CN=alice, O=Example</c>), or null when it is not a distinguished name.</summary>
    public static string? NormalizeSubject(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        try
        {
            // Name keeps the text as given; decoding the parsed form gives one spelling for "CN=a,O=b" and "CN=a, O=b".
            var name = new X500DistinguishedName(text).Decode(X500DistinguishedNameFlags.Reversed);
            return string.IsNullOrEmpty(name) ? null : name;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Reads the file of <paramref name="folder"/> (none yet: nobody is allowed).</summary>
    /// <exception cref="UsbRedirException">The file exists but cannot be read (ConfigFileReadFailed).</exception>
    public static AuthorizedClients Load(UsbRedirConfigFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return new AuthorizedClients(folder, folder.ReadFile(FileName));
    }

    public UsbRedirConfigFolder Folder { get; }

    /// <summary>The file's full path.</summary>
    public string Path => Folder.File(FileName);

    public IReadOnlyList<AuthorizedClient> Entries { get; }

    /// <summary>Lines that were skipped, and why.</summary>
    public IReadOnlyList<TrustFileWarning> Warnings { get; }

    /// <summary>
    /// The entry that allows a client: the one with its key, else (only when <paramref name="signedByTrustedCa"/>) the one
    /// with its certificate's subject; null when none does.
    /// </summary>
    public AuthorizedClient? Find(KeyFingerprint key, string? subject, bool signedByTrustedCa)
    {
        if (!key.IsEmpty && Entries.FirstOrDefault(e => e.Key == key) is { } byKey)
            return byKey;
        if (signedByTrustedCa && subject is not null && NormalizeSubject(subject) is { } normalized)
            return Entries.FirstOrDefault(e => e.Subject is { } s && string.Equals(s, normalized, StringComparison.OrdinalIgnoreCase));
        return null;
    }

    /// <summary>
    /// Allows a client: writes <paramref name="entry"/> (its <see cref="AuthorizedClient.Line"/> is ignored), replacing the line
    /// of the same key or subject if there is one, and returns the file as it is now.
    /// </summary>
    /// <exception cref="UsbRedirException">The file cannot be read or written.</exception>
    public AuthorizedClients Add(AuthorizedClient entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Key is null == (entry.Subject is null))
            throw new ArgumentException("An authorized client has a key or a subject, exactly one of them.", nameof(entry));
        var current = Load(Folder);
        var replaced = current.Entries.Where(e => Same(e, entry)).Select(e => e.Line).ToHashSet();
        Folder.WritePrivateFile(FileName, TrustFile.Edit(current._text, replaced, [entry.ToLine()]));
        return Load(Folder);
    }

    /// <summary>Removes the entries with <paramref name="key"/> (or that <paramref name="subject"/>); returns how many went, and the file as it is now.</summary>
    /// <exception cref="UsbRedirException">The file cannot be read or written.</exception>
    public (int Removed, AuthorizedClients Now) Remove(KeyFingerprint? key, string? subject)
    {
        var probe = new AuthorizedClient(key, subject is null ? null : NormalizeSubject(subject) ?? subject, null, null, 0);
        var current = Load(Folder);
        var lines = current.Entries.Where(e => Same(e, probe)).Select(e => e.Line).ToHashSet();
        if (lines.Count == 0)
            return (0, current);
        Folder.WritePrivateFile(FileName, TrustFile.Edit(current._text, lines, []));
        return (lines.Count, Load(Folder));
    }

    private static bool Same(AuthorizedClient a, AuthorizedClient b) =>
        a.Key is { } key ? b.Key == key : b.Subject is { } s && string.Equals(a.Subject, s, StringComparison.OrdinalIgnoreCase);
}
