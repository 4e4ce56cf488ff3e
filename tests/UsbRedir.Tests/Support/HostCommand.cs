using System.Diagnostics;

namespace UsbRedir.Tests.Support;

/// <summary>Runs a host tool for a test (mke2fs, debugfs, ...) and returns its stdout; a non-zero exit fails with its stderr.</summary>
public static class HostCommand
{
    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}):\n{stderr}");
        return stdout.Result;
    }

    /// <summary>An ext2 image of <paramref name="size"/> (mke2fs syntax, e.g. "32M") in <paramref name="dir"/> holding /known.bin.</summary>
    public static string MakeExt2Image(string dir, byte[] knownContent, string size)
    {
        var root = Directory.CreateDirectory(Path.Combine(dir, "root")).FullName;
        File.WriteAllBytes(Path.Combine(root, "known.bin"), knownContent);
        var image = Path.Combine(dir, "stick.img");
        Run("mke2fs", "-q", "-F", "-t", "ext2", "-d", root, image, size);
        return image;
    }

    /// <summary>A file of an ext2 image, read on the host with debugfs.</summary>
    public static string ReadFromExt2(string image, string path) => Run("debugfs", "-R", $"cat {path}", image);
}
