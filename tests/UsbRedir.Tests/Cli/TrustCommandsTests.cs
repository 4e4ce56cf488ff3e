using UsbRedir.Security;
using UsbRedir.Tests.Security;

namespace UsbRedir.Tests.Cli;

/// <summary>`usbredir clients`, `usbredir trust` and `usbredir identity` over a configuration folder of their own.</summary>
public sealed class TrustCommandsTests
{
    private static (int Exit, string Out, string Err) Run(TempConfigFolder temp, params string[] args) =>
        FilterCommandTests.Run([.. args, "--config-dir", temp.Path]);

    private const string Alice = "SHA256:0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20";

    [Fact]
    public void Clients_allow_list_and_revoke_edit_authorized_clients()
    {
        using var temp = new TempConfigFolder();
        var (exit, output, _) = Run(temp, "clients", "list");
        Assert.Equal(0, exit);
        Assert.Contains("no client is allowed yet", output);

        (exit, output, _) = Run(temp, "clients", "allow", Alice.ToLowerInvariant(), "--name", "alice laptop", "--filter", "0x08,-1,-1,-1,1|-1,-1,-1,-1,0");
        Assert.Equal(0, exit);
        Assert.Contains($"allowed: {Alice}  name: alice laptop  filter: 0x08,-1,-1,-1,1|-1,-1,-1,-1,0", output);
        Assert.NotNull(AuthorizedClients.Load(temp.Folder).Find(KeyFingerprint.Parse(Alice), null, false));

        temp.Write(AuthorizedClients.FileName, temp.Read(AuthorizedClients.FileName) + "rubbish\n");
        (exit, output, var error) = Run(temp, "clients", "list");
        Assert.Equal(0, exit);
        Assert.Contains(Alice, output);
        Assert.Contains($"usbredir: warning: {temp.Folder.File(AuthorizedClients.FileName)}:2: 'rubbish'", error);

        (exit, output, _) = Run(temp, "clients", "revoke", Alice);
        Assert.Equal(0, exit);
        Assert.Contains($"revoked: {Alice}", output);
        (exit, _, error) = Run(temp, "clients", "revoke", Alice);
        Assert.Equal(1, exit);
        Assert.Contains("[ClientNotFound]", error);
        (exit, _, error) = Run(temp, "clients", "allow", "not-a-key");
        Assert.Equal(2, exit);
        Assert.Contains("[ClientIdentityInvalid]", error);
        (exit, _, error) = Run(temp, "clients", "allow", Alice, "--filter", "0x08,-1");
        Assert.Equal(2, exit);
        Assert.Contains("[FilterTokenCount]", error);
    }

    [Fact]
    public void Trust_add_list_and_remove_edit_known_servers()
    {
        using var temp = new TempConfigFolder();
        var (exit, output, _) = Run(temp, "trust", "add", "Bob:1138", Alice);
        Assert.Equal(0, exit);
        Assert.Contains($"trusted: bob:1138 {Alice}", output);
        (exit, output, _) = Run(temp, "trust", "list");
        Assert.Equal(0, exit);
        Assert.Contains($"bob:1138 {Alice}", output);
        (exit, output, _) = Run(temp, "trust", "remove", "bob:1138");
        Assert.Equal(0, exit);
        Assert.Contains("removed: bob:1138", output);
        (exit, _, var error) = Run(temp, "trust", "remove", "bob:1138");
        Assert.Equal(1, exit);
        Assert.Contains("[KnownServerNotFound]", error);
        (exit, _, error) = Run(temp, "trust", "add", "bob:1138");
        Assert.Equal(2, exit);
        Assert.Contains("trust add: give HOST:PORT and the key", error);
    }

    [Fact]
    public void Identity_creates_the_keys_once_and_prints_their_fingerprints()
    {
        using var temp = new TempConfigFolder();
        var (exit, output, _) = Run(temp, "identity");
        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"client: {LocalIdentity.LoadOrCreate(temp.Folder, IdentityRole.Client).Fingerprint}", lines[0]);
        Assert.StartsWith($"server: {LocalIdentity.LoadOrCreate(temp.Folder, IdentityRole.Server).Fingerprint}", lines[1]);
        Assert.Contains("created now", lines[0]);
        (exit, output, _) = Run(temp, "identity", "--server");
        Assert.Equal(0, exit);
        Assert.StartsWith("server: SHA256:", output);
        Assert.DoesNotContain("created now", output);
    }
}
