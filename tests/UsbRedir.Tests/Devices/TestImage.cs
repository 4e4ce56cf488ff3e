using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace UsbRedir.Tests.Devices;

/// <summary>A temporary disk image with known random contents, deleted on dispose.</summary>
internal sealed class TestImage : IDisposable
{
    private readonly string _directory;

    public TestImage(long size = 1024 * 1024, int seed = 1)
    {
        _directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "usbredir-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(_directory);
        Path = System.IO.Path.Combine(_directory, "disk.img");
        Contents = new byte[size];
        new Random(seed).NextBytes(Contents);
        File.WriteAllBytes(Path, Contents);
    }

    public string Path { get; }

    /// <summary>What the image held when created.</summary>
    public byte[] Contents { get; }

    public string Folder => _directory;

    public byte[] Hash() => SHA256.HashData(RawRead(0, (int)new FileInfo(Path).Length));

    /// <summary>
    /// Reads the file with plain open/pread, bypassing .NET's advisory flock: a writable virtual disk holds an exclusive
    /// lock that would refuse a FileStream, but the bytes the OS has for the file are what this test wants to see.
    /// </summary>
    public byte[] RawRead(long offset, int count)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("RawRead uses libc.");
        var fd = Open(Path, 0);
        Assert.True(fd >= 0, $"open {Path} failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var buffer = new byte[count];
            var read = PRead(fd, buffer, count, offset);
            Assert.Equal(count, (int)read);
            return buffer;
        }
        finally
        {
            Close(fd);
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static extern nint PRead(int fd, byte[] buffer, nint count, long offset);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
