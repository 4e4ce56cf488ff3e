using System.Security.Cryptography;
using UsbRedir.Tests.Support;
using UsbRedir.Tests.Vm;
using Xunit.Abstractions;

namespace UsbRedir.Tests.Server;

/// <summary>
/// End to end through the server, in a Debian 6.1 guest: `usbredir server` on our vhci-ctrl module, a `usbredir connect`
/// process pushing a virtual disk to it over TCP; the guest kernel enumerates the disk and reads and writes its files.
/// </summary>
public sealed class ServerVmTests(ITestOutputHelper output)
{
    [VmFact]
    public void A_disk_pushed_to_usbredir_server_is_used_by_the_guest_kernel()
    {
        var shared = Directory.CreateTempSubdirectory("usbredir-server-").FullName;
        var content = RandomNumberGenerator.GetBytes(200_000);
        var root = Directory.CreateDirectory(Path.Combine(shared, "root")).FullName;
        File.WriteAllBytes(Path.Combine(root, "known.bin"), content);
        var image = Path.Combine(shared, "stick.img");
        Exec("mke2fs", "-q", "-F", "-t", "ext2", "-d", root, image, "8M");

        var options = new GuestRunOptions { Timeout = TimeSpan.FromMinutes(8) };
        options.ReadWriteDirs.Add(shared);
        options.Modules.AddRange(["usb_storage", "sd_mod", "ext4"]);
        options.Environment["DOTNET_TieredPGO"] = "0"; // starts .NET faster under TCG (tests/vm measurements)
        var result = GuestVm.Run(["bash", RepoPaths.Combine("tests", "vm", "scenarios", "server-e2e.sh"), VhciModuleBuild.Module,
            Path.Combine(AppContext.BaseDirectory, "UsbRedir.Cli.dll"), image, Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant()], options);
        output.WriteLine(result.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(result.KernelProblem, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout);
        Assert.Contains("PASS disk.checksum", result.Stdout);
        Assert.Contains("PASS module.unloaded", result.Stdout);
        Assert.Equal("written through usbredir server\n", Exec("debugfs", "-R", "cat /from-guest.txt", image));
        Directory.Delete(shared, recursive: true);
    }

    private static string Exec(string file, params string[] args) => ProcessRunner.Run(file, args);
}
