using UsbRedir.Transport.Tls;

namespace UsbRedir.Cli.Commands;

/// <summary>`usbredir tls new-ca|new-server|new-client`: certificate sets in QEMU's layout (the engine is <see cref="TlsCertificateFactory"/>).</summary>
internal sealed class TlsCommand : ICliCommand
{
    public string Name => "tls";

    public string Summary => "make TLS certificates in QEMU's tls-creds-x509 layout (CA, server, client)";

    public string Usage => $"""
        usage: usbredir tls new-ca --tls-dir DIR [--name CN] [--days N] [--force]
               usbredir tls new-server --tls-dir DIR [--host NAME|ADDRESS]... [--name CN] [--days N] [--force]
               usbredir tls new-client --tls-dir DIR [--name CN] [--days N] [--force]

        Writes QEMU's layout, which libvirt and usbredir's --tls-dir read too:
          new-ca      {TlsDirectory.CaCertificate} and {TlsDirectory.CaKey} (a CA: basic constraints CA:true, keyCertSign)
          new-server  {TlsDirectory.ServerCertificate} and {TlsDirectory.ServerKey}, signed by the CA in DIR; the names and
                      addresses clients use go in --host (repeatable; default: this machine's name, localhost,
                      127.0.0.1, ::1)
          new-client  {TlsDirectory.ClientCertificate} and {TlsDirectory.ClientKey}, signed by the CA in DIR
        Keys are RSA 2048, written readable by their owner only. Lifetimes: CA {TlsCertificateFactory.DefaultCaLifetime.TotalDays:0} days,
        others {TlsCertificateFactory.DefaultLifetime.TotalDays:0} days (--days N). Existing files are kept unless --force.
        QEMU: -object tls-creds-x509,id=t0,dir=DIR,endpoint=server,verify-peer=on (copy ca-key.pem elsewhere
        before giving DIR to a machine that should not sign certificates).
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, UsbRedirContext context, CancellationToken cancellationToken)
    {
        if (args.Count == 0)
            return Task.FromResult(console.UsageError("tls: missing subcommand (new-ca, new-server or new-client)", Usage));
        var kind = args[0] switch
        {
            "new-ca" => TlsCertificateKind.Ca,
            "new-server" => TlsCertificateKind.Server,
            "new-client" => TlsCertificateKind.Client,
            _ => (TlsCertificateKind?)null,
        };
        if (kind is null)
            return Task.FromResult(console.UsageError($"tls: unknown subcommand '{args[0]}' (expected new-ca, new-server or new-client)", Usage));
        var a = CliArguments.Parse(args.Skip(1).ToList(), ["tls-dir", "name", "days", "host"], ["force"]);
        if (a.Positionals.Count > 0)
            throw new CliUsageException($"unexpected argument '{a.Positionals[0]}'");
        if (kind != TlsCertificateKind.Server && a.Has("host"))
            throw new CliUsageException("--host applies to new-server only");
        var dir = a.Required("tls-dir");
        TimeSpan? lifetime = a.Has("days") ? TimeSpan.FromDays(a.Int("days", 0, 1, 36500)) : null;
        var written = kind == TlsCertificateKind.Ca
            ? TlsCertificateFactory.NewCa(dir, a.Value("name"), lifetime, a.Has("force"))
            : TlsCertificateFactory.NewSigned(dir, kind.Value, a.Value("name"), a.Values("host"), lifetime, a.Has("force"));
        foreach (var path in written)
            console.Out.WriteLine($"wrote {path}");
        return Task.FromResult(ExitCode.Success);
    }
}
