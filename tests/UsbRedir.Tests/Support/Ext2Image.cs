namespace UsbRedir.Tests.Support;

/// <summary>ext2 disk images made and read on the host with e2fsprogs (mke2fs -d, debugfs), for tests whose guest mounts them.</summary>
public static class Ext2Image
{
    /// <summary>Creates DIR/NAME, an ext2 image of <paramref name="size"/> (e.g. "16M") holding the given files in its root.</summary>
    public static string Create(string dir, string name, string size, params (string Name, byte[] Content)[] files)
    {
        var root = Directory.CreateDirectory(Path.Combine(dir, name + ".root")).FullName;
        foreach (var (file, content) in files)
            File.WriteAllBytes(Path.Combine(root, file), content);
        var image = Path.Combine(dir, name);
        HostCommand.Run("mke2fs", "-q", "-F", "-t", "ext2", "-d", root, image, size);
        Directory.Delete(root, recursive: true);
        return image;
    }

    /// <summary>The text of a file inside the image (empty when it is not there).</summary>
    public static string ReadFile(string image, string path) => HostCommand.Run("debugfs", "-R", $"cat {path}", image);
}
