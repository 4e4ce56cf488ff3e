using System.Net;
using System.Net.Sockets;
using UsbRedir.Tests.Vm;

namespace UsbRedir.Tests.Qemu;

/// <summary>
/// Starts a guest whose qemu listens on fixed loopback ports (usb-redir chardevs with server=on), and returns once that
/// qemu, not some other process, listens on all of them.
/// </summary>
/// <remarks>
/// The ports are chosen before the guest runs, but qemu binds them only once it holds the machine-wide guest lock, which
/// other VM tests may hold for minutes. Any process can take a port in that time (the range lies within the kernel's
/// ephemeral ports, so even an outgoing connection can); qemu then fails at once with "Address already in use", and
/// the run is repeated on other ports. A listener on the port is only taken for qemu's when the socket is one of the
/// file descriptors of the qemu process started with this run's tag in its command line.
/// </remarks>
internal static class QemuChardevGuest
{
    private const int Attempts = 3;

    /// <param name="start">
    /// Starts the guest with qemu listening on the given ports; the tag must appear in qemu's arguments (in the chardev ids:
    /// <c>id=disk-{tag}</c>).
    /// </param>
    public static async Task<(Task<GuestRunResult> Guest, int[] Ports)> StartAsync((int First, int Last) range, int count,
        Func<int[], string, Task<GuestRunResult>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            var tag = "t" + Guid.NewGuid().ToString("N")[..12];
            var ports = FreePorts(range, count);
            var guest = start(ports, tag);
            if (await QemuListensAsync(ports, tag, guest))
                return (guest, ports);
            var result = await guest;
            if (attempt == Attempts || !result.Stderr.Contains("Address already in use", StringComparison.Ordinal))
                throw new Xunit.Sdk.XunitException($"qemu never listened on port {string.Join(" and ", ports)}: {result}");
        }
    }

    /// <summary>The first <paramref name="count"/> ports of the range nobody has bound right now.</summary>
    private static int[] FreePorts((int First, int Last) range, int count)
    {
        var free = new List<int>();
        for (var port = range.First; port <= range.Last && free.Count < count; port++)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
                free.Add(port);
            }
            catch (SocketException)
            {
            }
        }
        return free.Count == count ? [.. free] : throw new Xunit.Sdk.XunitException($"fewer than {count} free ports in {range.First}-{range.Last}");
    }

    /// <summary>Waits, without connecting (a probe connection would be taken as the usb-redir peer), until qemu listens.</summary>
    private static async Task<bool> QemuListensAsync(int[] ports, string tag, Task<GuestRunResult> guest)
    {
        // No deadline of its own: the guest task ends by itself if qemu never comes up (run-vm's timeout, and GuestVm.Run's
        // bound on the whole run, lock wait included). A shorter one here gave up while other helpers' guests held the lock
        // for over 30 minutes, and the guest then booted for nobody.
        while (!guest.IsCompleted)
        {
            if (QemuSocketInodes(tag) is { } sockets)
            {
                var listening = ListeningInodes();
                if (ports.All(p => listening.TryGetValue(p, out var inodes) && inodes.Overlaps(sockets)))
                    return true;
            }
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>The socket inodes of the qemu process whose command line holds the tag, or null while there is none.</summary>
    private static HashSet<string>? QemuSocketInodes(string tag)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
                continue;
            try
            {
                var argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                // run-vm's own command line holds the tag too: only qemu's sockets count.
                if (!Path.GetFileName(argv[0]).StartsWith("qemu-system", StringComparison.Ordinal) || !argv.Any(a => a.Contains(tag, StringComparison.Ordinal)))
                    continue;
                return Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd"))
                    .Select(fd => new FileInfo(fd).LinkTarget)
                    .Where(target => target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                    .Select(target => target!["socket:[".Length..^1])
                    .ToHashSet();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked: not ours, or not yet.
            }
        }
        return null;
    }

    /// <summary>The inodes of the IPv4 sockets listening on each local port (/proc/net/tcp: state 0A is LISTEN).</summary>
    private static Dictionary<int, HashSet<string>> ListeningInodes()
    {
        var listening = new Dictionary<int, HashSet<string>>();
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || f[3] != "0A")
                continue;
            var port = Convert.ToInt32(f[1][(f[1].IndexOf(':') + 1)..], 16);
            if (!listening.TryGetValue(port, out var inodes))
                listening[port] = inodes = [];
            inodes.Add(f[9]);
        }
        return listening;
    }
}
