using System.Security.Cryptography;
using UsbRedir.Filtering;
using UsbRedir.Security;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Security;

/// <summary>The trust files (known_servers, authorized_clients), fingerprints, the configuration folder and local identities.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class TrustStoreTests
{
    private static KeyFingerprint Key(byte seed) => KeyFingerprint.FromHash(Enumerable.Range(0, 32).Select(i => (byte)(seed + i)).ToArray());

    [Fact]
    public void A_fingerprint_is_written_SHA256_hex_and_read_back_from_every_accepted_form()
    {
        var key = Key(1);
        var text = key.ToString();
        Assert.Matches("^SHA256:[0-9A-F]{64}$", text);
        Assert.Equal(key, KeyFingerprint.Parse(text));
        Assert.Equal(key, KeyFingerprint.Parse(text.ToLowerInvariant()));
        Assert.Equal(key, KeyFingerprint.Parse(Convert.ToHexString(key.Hash)));
        Assert.Equal(key, KeyFingerprint.Parse(string.Join(':', Convert.ToHexString(key.Hash).Chunk(2).Select(c => new string(c)))));
        Assert.Equal(key, KeyFingerprint.Parse("SHA256:" + Convert.ToBase64String(key.Hash).TrimEnd('=')));
        foreach (var bad in new[] { "", "SHA256:", "SHA256:XYZ", new string('A', 63), "MD5:" + new string('a', 32), text + "00" })
            Assert.False(KeyFingerprint.TryParse(bad, out _), bad);
        var error = Assert.Throws<UsbRedirException>(() => KeyFingerprint.Parse("nope"));
        Assert.Equal("FingerprintInvalid", error.ErrorId);
        Assert.NotEqual(Key(1), Key(2));
        Assert.True(default(KeyFingerprint).IsEmpty);
    }

    [Fact]
    public void The_config_folder_follows_XDG_and_falls_back_to_HOME()
    {
        Assert.Equal("/x/cfg/usbredir", UsbRedirConfigFolder.DefaultPath(n => n switch { "XDG_CONFIG_HOME" => "/x/cfg", "HOME" => "/home/a", _ => null }));
        Assert.Equal("/home/a/.config/usbredir", UsbRedirConfigFolder.DefaultPath(n => n == "HOME" ? "/home/a" : null));
        // A relative XDG_CONFIG_HOME is invalid by the spec and ignored.
        Assert.Equal("/home/a/.config/usbredir", UsbRedirConfigFolder.DefaultPath(n => n switch { "XDG_CONFIG_HOME" => "rel", "HOME" => "/home/a", _ => null }));
    }

    [Fact]
    public void Files_are_written_0600_into_a_folder_made_0700()
    {
        using var temp = new TempConfigFolder();
        temp.Folder.WritePrivateFile("x", "secret");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(temp.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(temp.Folder.File("x")));
        Assert.Equal("secret", temp.Read("x"));
        Assert.Equal(["x"], Directory.GetFiles(temp.Path).Select(Path.GetFileName)); // no temporary file left
    }

    [Fact]
    public void Known_servers_reader_skips_bad_lines_with_their_numbers_and_keeps_the_good_ones()
    {
        using var temp = new TempConfigFolder();
        var alice = Key(1);
        temp.Write(KnownServers.FileName, string.Join("\n",
            "# my servers",
            "",
            $"Bob:1138 {alice}   # bob's desk",
            "bob:1138",
            $"nohost {alice}",
            "bob:1139 SHA256:not-a-key",
            $"[::1]:4000 {Convert.ToHexString(Key(2).Hash)}",
            "\"unterminated",
            "\u0001\u0002binary\u0000junk",
            $"carol:1138 {Key(3)} extra"));
        var known = KnownServers.Load(temp.Folder);
        Assert.Equal(["bob:1138", "[::1]:4000"], known.Entries.Select(e => e.Server));
        Assert.Equal([4, 5, 6, 8, 9, 10], known.Warnings.Select(w => w.Line));
        Assert.All(known.Warnings, w => Assert.StartsWith($"{known.Path}:{w.Line}: ", w.ToString()));
        Assert.Contains("'nohost' is not HOST:PORT", known.Warnings[1].Message);
        Assert.Equal(ServerKeyStatus.Known, known.Check(UsbRedirEndpoint.Parse("BOB:1138"), alice));
        Assert.Equal(ServerKeyStatus.Changed, known.Check(UsbRedirEndpoint.Parse("bob:1138"), Key(9)));
        Assert.Equal(ServerKeyStatus.Unknown, known.Check(UsbRedirEndpoint.Parse("bob:1140"), alice));
        Assert.Equal(ServerKeyStatus.Known, known.Check(UsbRedirEndpoint.Parse("[::1]:4000"), Key(2)));
    }

    [Fact]
    public void A_client_name_with_a_control_character_is_written_so_that_it_reads_back()
    {
        // Found by fuzz/run (target trust-files): the name was written bare, and the reader refuses control characters
        // outside quotes, so the entry was skipped (and the client refused) on the next read. A line break, even quoted,
        // would end the line: it is written as \n or \r, and a backslash before n stays a backslash.
        using var temp = new TempConfigFolder();
        temp.Write(AuthorizedClients.FileName, "");
        var name = "desk\u0001\u007f\nsecond line\r\\n";
        AuthorizedClients.Load(temp.Folder).Add(new AuthorizedClient(Key(4), null, name, null, 0));
        var again = AuthorizedClients.Load(temp.Folder);
        Assert.Empty(again.Warnings);
        Assert.Equal(name, Assert.Single(again.Entries).Name);
        Assert.Single(TrustFile.SplitLines(temp.Read(AuthorizedClients.FileName)));
    }

    [Fact]
    public void Known_servers_add_and_remove_keep_every_other_line_as_it_was()
    {
        using var temp = new TempConfigFolder();
        Assert.Empty(KnownServers.Load(temp.Folder).Entries); // no file yet: nothing known, no warning
        var original = $"# keep me\nbad line here\nbob:1138 {Key(1)}\n";
        temp.Write(KnownServers.FileName, original);
        var now = KnownServers.Load(temp.Folder).Add(UsbRedirEndpoint.Parse("carol:4000"), Key(2));
        Assert.StartsWith(original, temp.Read(KnownServers.FileName));
        Assert.Equal(ServerKeyStatus.Known, now.Check(UsbRedirEndpoint.Parse("carol:4000"), Key(2)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(now.Path));
        // Adding a known key again changes nothing.
        var before = temp.Read(KnownServers.FileName);
        now.Add(UsbRedirEndpoint.Parse("carol:4000"), Key(2));
        Assert.Equal(before, temp.Read(KnownServers.FileName));

        var (removed, after) = now.Remove(UsbRedirEndpoint.Parse("BOB:1138"));
        Assert.Equal(1, removed);
        Assert.Equal(["carol:4000"], after.Entries.Select(e => e.Server));
        Assert.StartsWith("# keep me\nbad line here\ncarol:4000 ", temp.Read(KnownServers.FileName));
        Assert.Equal(0, after.Remove(UsbRedirEndpoint.Parse("bob:1138")).Removed);
    }

    [Fact]
    public void Authorized_clients_lines_name_a_key_or_a_subject_with_a_name_and_a_filter()
    {
        using var temp = new TempConfigFolder();
        temp.Write(AuthorizedClients.FileName, string.Join("\n",
            $"{Key(1)} name=\"alice's laptop\" filter=0x08,-1,-1,-1,1|-1,-1,-1,-1,0",
            $"{Key(2)}",
            "subject=\"CN=carol, O=Example\" filter=0x03,-1,-1,-1,1",
            $"{Key(4)} filter=0x08,-1,-1",        // a bad filter must allow nothing, not everything
            $"{Key(5)} colour=blue",                // unknown option
            "CN=dave",                               // neither a key nor subject=
            "subject=",                              // an empty subject
            "  # a comment"));
        var clients = AuthorizedClients.Load(temp.Folder);
        Assert.Equal([1, 2, 3], clients.Entries.Select(e => e.Line));
        Assert.Equal([4, 5, 6, 7], clients.Warnings.Select(w => w.Line));
        Assert.All(clients.Warnings, w => Assert.EndsWith("(it allows nothing)", w.Message));

        var alice = clients.Find(Key(1), null, signedByTrustedCa: false)!;
        Assert.Equal("alice's laptop", alice.Name);
        Assert.Equal("0x08,-1,-1,-1,1|-1,-1,-1,-1,0", UsbRedirFilter.Format(alice.Filter!));
        Assert.Null(clients.Find(Key(2), null, false)!.Filter);
        Assert.Null(clients.Find(Key(4), null, false));
        // A subject only counts for a CA-signed certificate: a self-signed one can claim any subject.
        Assert.Null(clients.Find(Key(9), "CN=carol, O=Example", signedByTrustedCa: false));
        Assert.Equal(3, clients.Find(Key(9), "CN=carol,O=Example", signedByTrustedCa: true)!.Line);
        Assert.Null(clients.Find(Key(9), "CN=mallory", signedByTrustedCa: true));
        Assert.Equal("CN=carol, O=Example", AuthorizedClients.NormalizeSubject("CN=carol,O=Example"));
    }

    [Fact]
    public void Authorized_clients_add_replaces_the_same_key_and_remove_drops_it()
    {
        using var temp = new TempConfigFolder();
        var clients = AuthorizedClients.Load(temp.Folder);
        clients = clients.Add(new AuthorizedClient(Key(1), null, "first", null, 0));
        clients = clients.Add(new AuthorizedClient(Key(2), null, "two words", UsbRedirFilter.Parse("0x08,-1,-1,-1,1"), 0));
        clients = clients.Add(new AuthorizedClient(Key(1), null, "renamed", null, 0));
        Assert.Equal(["two words", "renamed"], clients.Entries.Select(e => e.Name));
        Assert.Empty(clients.Warnings);
        Assert.Contains($"{Key(2)} name=\"two words\" filter={UsbRedirFilter.Format(UsbRedirFilter.Parse("0x08,-1,-1,-1,1"))}\n", temp.Read(AuthorizedClients.FileName));
        var (removed, now) = clients.Remove(Key(1), null);
        Assert.Equal(1, removed);
        Assert.Equal([Key(2)], now.Entries.Select(e => e.Key!.Value));
        now = now.Add(new AuthorizedClient(null, AuthorizedClients.NormalizeSubject("CN=carol, O=Example"), null, null, 0));
        Assert.Equal(1, now.Remove(null, "CN=carol,O=Example").Removed);
    }

    [Fact]
    public void A_local_identity_is_created_once_0600_and_loaded_with_the_same_key_afterwards()
    {
        using var temp = new TempConfigFolder();
        var first = LocalIdentity.LoadOrCreate(temp.Folder, IdentityRole.Server);
        Assert.True(first.Created);
        Assert.True(first.Certificate.HasPrivateKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(temp.Folder.File("server-key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(temp.Path));
        Assert.True(first.Certificate.NotAfter > DateTime.Now.AddYears(19));
        var again = LocalIdentity.LoadOrCreate(temp.Folder, IdentityRole.Server);
        Assert.False(again.Created);
        Assert.Equal(first.Fingerprint, again.Fingerprint);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(again.Certificate.PublicKey.ExportSubjectPublicKeyInfo())), again.Fingerprint.ToString()["SHA256:".Length..]);

        var client = LocalIdentity.LoadOrCreate(temp.Folder, IdentityRole.Client);
        Assert.True(client.Created);
        Assert.NotEqual(first.Fingerprint, client.Fingerprint);

        File.Delete(temp.Folder.File("client-cert.pem"));
        var error = Assert.Throws<UsbRedirException>(() => LocalIdentity.LoadOrCreate(temp.Folder, IdentityRole.Client));
        Assert.Equal("IdentityIncomplete", error.ErrorId);
        Assert.Contains("client-cert.pem", error.Message);
    }
}
