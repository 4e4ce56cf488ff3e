namespace UsbRedir.Devices.Software.MassStorage;

/// <summary>
/// The image file behind a virtual disk: fixed size, whole 512-byte blocks, positional reads and writes that never
/// go past the end, and flushes that reach the storage device.
/// </summary>
/// <remarks>
/// Sharing: a writable image is opened with <see cref="FileShare.None"/>. On Linux .NET only takes an exclusive
/// (flock) lock for FileShare.None, so that is what keeps a second exporter or editor from writing the same image
/// at once. A read-only image allows other readers but no writer.
/// </remarks>
public sealed class DiskImage : IDisposable
{
    public const int BlockSize = 512;

    private readonly FileStream _file;
    private readonly object _gate = new();
    private bool _disposed;

    private DiskImage(string path, FileStream file, bool readOnly)
    {
        Path = path;
        _file = file;
        ReadOnly = readOnly;
        Length = file.Length;
    }

    public string Path { get; }

    public bool ReadOnly { get; }

    /// <summary>Size in bytes; a whole number of blocks.</summary>
    public long Length { get; }

    public long BlockCount => Length / BlockSize;

    /// <exception cref="UsbRedirException">The file is missing, a directory, in use, not accessible, or not a whole number of blocks.</exception>
    public static DiskImage Open(string path, bool readOnly)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
            throw new UsbRedirException("DiskImageIsDirectory", UsbRedirErrorCategory.InvalidArgument,
                $"'{fullPath}' is a directory, not a disk image file.",
                "Give the path of an image file, e.g. one created with 'truncate -s 64M disk.img'.", fullPath);

        FileStream file;
        try
        {
            // bufferSize 0: every read and write goes straight to the OS, so nothing lingers in a .NET buffer.
            file = new FileStream(fullPath, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite,
                readOnly ? FileShare.Read : FileShare.None, bufferSize: 0, FileOptions.None);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new UsbRedirException("DiskImageNotFound", UsbRedirErrorCategory.ObjectNotFound,
                $"The disk image '{fullPath}' does not exist.",
                $"Create it first, e.g. 'truncate -s 64M \"{fullPath}\"' on Linux or 'fsutil file createnew \"{fullPath}\" 67108864' on Windows, " +
                "or check the path.", fullPath, exception);
        }
        catch (UnauthorizedAccessException exception)
        {
            throw new UsbRedirException("DiskImageAccessDenied", UsbRedirErrorCategory.PermissionDenied,
                $"No permission to open the disk image '{fullPath}' for {(readOnly ? "reading" : "reading and writing")}.",
                readOnly ? "Grant read access to the file." : "Grant read and write access to the file, or export it read-only.",
                fullPath, exception);
        }
        catch (IOException exception) when (IsSharingViolation(exception))
        {
            throw new UsbRedirException("DiskImageInUse", UsbRedirErrorCategory.ResourceBusy,
                $"The disk image '{fullPath}' is already open in another program or another UsbRedir disk" +
                (readOnly ? " that writes to it." : "."),
                "Close the other user of the file (or unplug the other virtual disk); several read-only exports of one image may coexist.",
                fullPath, exception);
        }
        catch (IOException exception)
        {
            throw new UsbRedirException("DiskImageOpenFailed", UsbRedirErrorCategory.DeviceError,
                $"Could not open the disk image '{fullPath}': {exception.Message}", "Check the file and the storage it lives on.", fullPath, exception);
        }

        var length = file.Length;
        if (length == 0 || length % BlockSize != 0)
        {
            file.Dispose();
            throw new UsbRedirException("DiskImageSizeInvalid", UsbRedirErrorCategory.InvalidData,
                length == 0
                    ? $"The disk image '{fullPath}' is empty."
                    : $"The disk image '{fullPath}' is {length} bytes, which is not a whole number of {BlockSize}-byte blocks.",
                $"Resize it to a multiple of {BlockSize} bytes, e.g. 'truncate -s 64M \"{fullPath}\"' (the image is left untouched until then).",
                fullPath);
        }
        return new DiskImage(fullPath, file, readOnly);
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (!destination.IsEmpty)
            {
                var read = RandomAccess.Read(_file.SafeFileHandle, destination, offset);
                if (read == 0)
                    throw new IOException($"The disk image '{Path}' ended early at byte {offset}; was it truncated by another program?");
                destination = destination[read..];
                offset += read;
            }
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        if (ReadOnly)
            throw new InvalidOperationException("The disk image is open read-only.");
        CheckRange(offset, source.Length);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RandomAccess.Write(_file.SafeFileHandle, source, offset);
        }
    }

    /// <summary>Pushes written data through the OS cache to the storage device (fsync / FlushFileBuffers).</summary>
    public void Flush()
    {
        if (ReadOnly)
            return;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _file.Flush(flushToDisk: true);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            try
            {
                if (!ReadOnly)
                    _file.Flush(flushToDisk: true);
            }
            finally
            {
                _file.Dispose();
            }
        }
    }

    private void CheckRange(long offset, int count)
    {
        // The SCSI layer checks LBAs first; this is the last line that keeps every access inside the image.
        if (offset < 0 || count < 0 || offset > Length - count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Access at byte {offset} (+{count}) is outside the {Length}-byte image.");
    }

    private static bool IsSharingViolation(IOException exception) =>
        // Windows: ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION; Unix: EWOULDBLOCK from flock.
        (exception.HResult & 0xFFFF) is 32 or 33 || exception.HResult == 11;
}
