using System.Net;
using UsbRedir.Filtering;
using UsbRedir.Security;
using UsbRedir.Transport;

namespace UsbRedir.Tests.Security;

/// <summary>The server's decision on peers (ClientAuthorizer) and the client's on servers (ServerTrust).</summary>
public class PolicyTests
{
    private static readonly IPAddress Remote = IPAddress.Parse("192.0.2.7");
    private static KeyFingerprint Key(byte seed) => KeyFingerprint.FromHash(Enumerable.Range(0, 32).Select(i => (byte)(seed * 7 + i)).ToArray());

    private static ClientAuthorizer Authorizer(TempConfigFolder temp, bool insecure = false, bool tofu = false, bool trustLoopback = true) =>
        new(new ClientAuthorizationOptions { Folder = temp.Folder, AllowUnauthenticated = insecure, TrustClientsOnFirstUse = tofu, TrustLoopback = trustLoopback });

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.2", true)]
    [InlineData("127.255.0.9", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("192.0.2.2", false)]
    [InlineData("::ffff:192.0.2.2", false)]
    [InlineData("fd00::2", false)]
    [InlineData("0.0.0.0", false)]
    public void Loopback_means_127_slash_8_and_colon_colon_1(string address, bool loopback) =>
        Assert.Equal(loopback, LoopbackAddress.Contains(IPAddress.Parse(address)));

    [Fact]
    public void Plaintext_peers_are_allowed_from_loopback_only_unless_insecure()
    {
        using var temp = new TempConfigFolder();
        Assert.True(Authorizer(temp).Authorize(new ClientCredentials(IPAddress.Loopback, Tls: false)).Allowed);
        Assert.True(Authorizer(temp).Authorize(new ClientCredentials(IPAddress.Parse("::ffff:127.0.0.1"), Tls: false)).Allowed);
        var refused = Authorizer(temp).Authorize(new ClientCredentials(Remote, Tls: false));
        Assert.False(refused.Allowed);
        Assert.Equal("PlaintextPeerRefused", refused.Refusal!.ErrorId);
        Assert.Contains("from loopback only", refused.Refusal.Message);
        Assert.Contains("--insecure", refused.Refusal.RecommendedAction);
        Assert.Contains("-AllowUnauthenticated", refused.Refusal.RecommendedAction);
        Assert.True(Authorizer(temp, insecure: true).Authorize(new ClientCredentials(Remote, Tls: false)).Allowed);
        // Loopback trust off: plaintext needs --insecure from loopback too.
        Assert.False(Authorizer(temp, trustLoopback: false).Authorize(new ClientCredentials(IPAddress.Loopback, Tls: false)).Allowed);
    }

    [Fact]
    public void An_unknown_TLS_client_is_refused_with_the_command_that_allows_it_and_allowed_after_it()
    {
        using var temp = new TempConfigFolder();
        var authorizer = Authorizer(temp);
        var peer = new ClientCredentials(Remote, Tls: true, Key(1), "CN=alice@laptop, OU=UsbRedir client");
        var refused = authorizer.Authorize(peer);
        Assert.False(refused.Allowed);
        Assert.Equal("ClientNotAuthorized", refused.Refusal!.ErrorId);
        Assert.Contains(Key(1).ToString(), refused.Refusal.Message);
        Assert.Contains("192.0.2.7", refused.Refusal.Message);
        var command = $"usbredir clients allow {Key(1)} --config-dir {temp.Path}";
        Assert.Equal(command, authorizer.AllowCommand(Key(1)));
        Assert.Contains(command, refused.Refusal.RecommendedAction);
        Assert.Contains($"Grant-UsbRedirClient {Key(1)} -ConfigFolder {temp.Path}", refused.Refusal.RecommendedAction);

        AuthorizedClients.Load(temp.Folder).Add(new AuthorizedClient(Key(1), null, "alice", UsbRedirFilter.Parse("0x08,-1,-1,-1,1|-1,-1,-1,-1,0"), 0));
        var allowed = authorizer.Authorize(peer);
        Assert.True(allowed.Allowed);
        Assert.Contains("alice", allowed.Reason);
        Assert.Equal("0x08,-1,-1,-1,1|-1,-1,-1,-1,0", UsbRedirFilter.Format(allowed.Filter!));
        // Another key is still unknown.
        Assert.False(authorizer.Authorize(peer with { Key = Key(2) }).Allowed);
    }

    [Fact]
    public void CA_signed_clients_are_allowed_and_a_subject_entry_gives_them_their_filter()
    {
        using var temp = new TempConfigFolder();
        AuthorizedClients.Load(temp.Folder).Add(new AuthorizedClient(null, AuthorizedClients.NormalizeSubject("CN=carol"), null, UsbRedirFilter.Parse("0x03,-1,-1,-1,1"), 0));
        var carol = new ClientCredentials(Remote, Tls: true, Key(3), "CN=carol", SignedByTrustedCa: true);
        var verdict = Authorizer(temp).Authorize(carol);
        Assert.True(verdict.Allowed);
        Assert.NotNull(verdict.Filter);
        var dave = Authorizer(temp).Authorize(carol with { Subject = "CN=dave" });
        Assert.True(dave.Allowed);
        Assert.Null(dave.Filter);
        Assert.Contains("trusted CA", dave.Reason);
        // The same subject in a self-signed certificate proves nothing.
        Assert.False(Authorizer(temp).Authorize(carol with { SignedByTrustedCa = false }).Allowed);
    }

    [Fact]
    public void Trust_on_first_use_of_clients_is_opt_in_and_records_the_client()
    {
        using var temp = new TempConfigFolder();
        var peer = new ClientCredentials(Remote, Tls: true, Key(4));
        Assert.False(Authorizer(temp).Authorize(peer).Allowed);
        var first = Authorizer(temp, tofu: true).Authorize(peer);
        Assert.True(first.Allowed);
        Assert.Contains("first use", first.Reason);
        Assert.NotNull(AuthorizedClients.Load(temp.Folder).Find(Key(4), null, false));
        Assert.True(Authorizer(temp).Authorize(peer).Allowed); // now listed, TOFU or not
    }

    [Fact]
    public void Loopback_and_insecure_let_unknown_TLS_clients_in_and_a_missing_certificate_is_named()
    {
        using var temp = new TempConfigFolder();
        Assert.True(Authorizer(temp).Authorize(new ClientCredentials(IPAddress.IPv6Loopback, Tls: true, Key(5))).Allowed);
        Assert.False(Authorizer(temp, trustLoopback: false).Authorize(new ClientCredentials(IPAddress.IPv6Loopback, Tls: true, Key(5))).Allowed);
        Assert.True(Authorizer(temp, insecure: true).Authorize(new ClientCredentials(Remote, Tls: true, Key(5))).Allowed);
        var none = Authorizer(temp).Authorize(new ClientCredentials(Remote, Tls: true));
        Assert.Equal("ClientCertificateMissing", none.Refusal!.ErrorId);
    }

    [Fact]
    public void A_bad_authorized_clients_file_warns_with_line_numbers_and_never_throws()
    {
        using var temp = new TempConfigFolder();
        temp.Write(AuthorizedClients.FileName, $"garbage\n{Key(6)}\n");
        var warnings = new List<string>();
        Assert.True(Authorizer(temp).Authorize(new ClientCredentials(Remote, Tls: true, Key(6)), warnings.Add).Allowed);
        Assert.Equal($"{temp.Folder.File(AuthorizedClients.FileName)}:1: 'garbage' is neither a key fingerprint (SHA256:...) nor subject=DN; skipped (it allows nothing)", Assert.Single(warnings));
    }

    [Fact]
    public void The_client_pins_a_server_on_first_use_and_refuses_a_changed_key_naming_both()
    {
        using var temp = new TempConfigFolder();
        var trust = new ServerTrust(new ServerTrustOptions { Folder = temp.Folder });
        var bob = UsbRedirEndpoint.Parse("Bob:1138");
        var first = trust.CheckKey(bob, Key(7));
        Assert.Equal(ServerKeyStatus.Unknown, first.Status);
        Assert.Contains("first connection to bob:1138", first.Message);
        Assert.Contains(Key(7).ToString(), first.Message);
        Assert.Contains(temp.Folder.File(KnownServers.FileName), first.Message);
        Assert.Equal(ServerKeyStatus.Known, trust.CheckKey(bob, Key(7)).Status);

        var changed = Assert.Throws<UsbRedirException>(() => trust.CheckKey(bob, Key(8)));
        Assert.Equal("ServerKeyChanged", changed.ErrorId);
        Assert.Contains(Key(7).ToString(), changed.Message);
        Assert.Contains(Key(8).ToString(), changed.Message);
        Assert.Contains($"usbredir trust remove bob:1138 --config-dir {temp.Path}", changed.RecommendedAction);
        Assert.Contains("Remove-UsbRedirKnownServer bob:1138", changed.RecommendedAction);
        // What the fix says works: forget, then the new key is recorded.
        KnownServers.Load(temp.Folder).Remove(bob);
        Assert.Equal(ServerKeyStatus.Unknown, trust.CheckKey(bob, Key(8)).Status);
        Assert.Equal(ServerKeyStatus.Known, trust.CheckKey(bob, Key(8)).Status);
    }

    [Fact]
    public void The_client_uses_a_plaintext_server_over_loopback_only_unless_insecure()
    {
        using var temp = new TempConfigFolder();
        var trust = new ServerTrust(new ServerTrustOptions { Folder = temp.Folder });
        var server = UsbRedirEndpoint.Parse("qemu:4000");
        Assert.Null(trust.CheckPlaintextPeer(server, IPAddress.Loopback));
        var refused = trust.CheckPlaintextPeer(server, Remote)!;
        Assert.Equal("PlaintextServerRefused", refused.ErrorId);
        Assert.Contains("--insecure", refused.RecommendedAction);
        Assert.Contains("-AllowUnauthenticated", refused.RecommendedAction);
        Assert.Null(new ServerTrust(new ServerTrustOptions { Folder = temp.Folder, AllowPlaintext = true }).CheckPlaintextPeer(server, Remote));
    }
}
