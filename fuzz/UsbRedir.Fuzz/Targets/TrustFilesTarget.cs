using System.Text;
using UsbRedir.Security;
using UsbRedir.Transport.Tls;

namespace UsbRedir.Fuzz.Targets;

/// <summary>
/// The readers of the files a user or an attacker with write access to the configuration folder can shape: the client's
/// <c>known_servers</c>, the server's <c>authorized_clients</c> (both <see cref="TrustFile"/>), and the PEM files of a
/// QEMU-layout TLS directory (<see cref="TlsDirectory"/>). The first byte picks one; the rest is the file (for a
/// certificate with its key: certificate, NUL, key). Entries read back from the lines the engine writes for them.
/// </summary>
/// <remarks>
/// Expected: none from the trust files (a bad line is a warning naming its number); <see cref="UsbRedirException"/>
/// TlsFileInvalid or TlsFileMissing from the TLS directory.
/// </remarks>
internal static class TrustFilesTarget
{
    private static readonly Lazy<string> Folder = new(() => Directory.CreateDirectory(Path.Combine(FuzzScratch.Directory, "trust")).FullName);

    public static void Run(byte[] data)
    {
        var input = new FuzzInput(data);
        var which = input.Byte() % 4;
        var bytes = input.Rest();
        var folder = new UsbRedirConfigFolder(Folder.Value);
        switch (which)
        {
            case 0:
            {
                File.WriteAllBytes(folder.File(KnownServers.FileName), bytes);
                var known = KnownServers.Load(folder);
                CheckWarnings(known.Warnings, bytes);
                File.WriteAllText(folder.File(KnownServers.FileName), string.Join('\n', known.Entries.Select(e => e.ToString())) + "\n");
                var again = KnownServers.Load(folder);
                Invariant.Check(again.Warnings.Count == 0 && again.Entries.Select(e => e.ToString()).SequenceEqual(known.Entries.Select(e => e.ToString())),
                    "known_servers entries do not read back from the lines written for them");
                break;
            }
            case 1:
            {
                File.WriteAllBytes(folder.File(AuthorizedClients.FileName), bytes);
                var clients = AuthorizedClients.Load(folder);
                CheckWarnings(clients.Warnings, bytes);
                File.WriteAllText(folder.File(AuthorizedClients.FileName), string.Join('\n', clients.Entries.Select(e => e.ToLine())) + "\n");
                var again = AuthorizedClients.Load(folder);
                Invariant.Check(again.Warnings.Count == 0 && again.Entries.Select(e => e.ToLine()).SequenceEqual(clients.Entries.Select(e => e.ToLine())),
                    "authorized_clients entries do not read back from the lines written for them: "
                    + string.Join(" | ", again.Warnings.Select(w => w.ToString())));
                break;
            }
            default:
            {
                var nul = Array.IndexOf(bytes, (byte)0);
                var certificate = nul < 0 ? bytes : bytes[..nul];
                File.WriteAllBytes(Path.Combine(folder.Path, TlsDirectory.ClientCertificate), certificate);
                File.WriteAllBytes(Path.Combine(folder.Path, TlsDirectory.ClientKey), nul < 0 ? [] : bytes[(nul + 1)..]);
                try
                {
                    if (which == 2)
                    {
                        foreach (var c in TlsDirectory.LoadCertificates(folder.Path, TlsDirectory.ClientCertificate) ?? [])
                            c.Dispose();
                    }
                    else
                        TlsDirectory.LoadOptionalIdentity(folder.Path, TlsDirectory.ClientCertificate, TlsDirectory.ClientKey)?.Dispose();
                }
                catch (UsbRedirException e) when (e.ErrorId is "TlsFileInvalid" or "TlsFileMissing")
                {
                    Invariant.Check(!string.IsNullOrEmpty(e.RecommendedAction), $"{e.ErrorId} without a fix");
                }
                break;
            }
        }
    }

    private static void CheckWarnings(IReadOnlyList<TrustFileWarning> warnings, byte[] file)
    {
        var lines = Encoding.UTF8.GetString(file).Split('\n').Length;
        foreach (var w in warnings)
            Invariant.Check(w.Line >= 1 && w.Line <= lines && !string.IsNullOrEmpty(w.Message), $"warning {w} outside the file's {lines} lines");
    }
}
