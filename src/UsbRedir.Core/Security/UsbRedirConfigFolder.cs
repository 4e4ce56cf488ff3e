using System.Text;

namespace UsbRedir.Security;

/// <summary>
/// The folder where UsbRedir keeps its identity and trust files (the server's and the client's own key and certificate,
/// <c>known_servers</c>, <c>authorized_clients</c>): <c>$XDG_CONFIG_HOME/usbredir</c>, or <c>~/.config/usbredir</c> when
/// XDG_CONFIG_HOME is unset or not absolute (the XDG base directory rule). The folder is created 0700 and every file in it
/// is written 0600, atomically (a temporary file renamed over the old one), so a crash never leaves half a file and no
/// other user can read a private key or change what this user trusts.
/// </summary>
public sealed class UsbRedirConfigFolder
{
    /// <summary>The folder's name under the XDG configuration home.</summary>
    public const string FolderName = "usbredir";

    public UsbRedirConfigFolder(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The folder's full path (it may not exist yet).</summary>
    public string Path { get; }

    /// <summary>This user's folder, from XDG_CONFIG_HOME or HOME (see the class summary).</summary>
    public static UsbRedirConfigFolder Default => new(DefaultPath(Environment.GetEnvironmentVariable));

    /// <summary>Where the folder is for the given environment: the one home of the XDG rule.</summary>
    /// <exception cref="UsbRedirException">Neither XDG_CONFIG_HOME nor HOME says where (ConfigFolderUnknown).</exception>
    public static string DefaultPath(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment("XDG_CONFIG_HOME") is { Length: > 0 } xdg && System.IO.Path.IsPathRooted(xdg))
            return System.IO.Path.Combine(xdg, FolderName);
        var home = environment("HOME") is { Length: > 0 } h && System.IO.Path.IsPathRooted(h)
            ? h
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
            throw new UsbRedirException("ConfigFolderUnknown", UsbRedirErrorCategory.InvalidOperation,
                "Cannot tell where this user's configuration folder is: neither XDG_CONFIG_HOME nor HOME is set.",
                "Set HOME (or XDG_CONFIG_HOME) to an absolute path, or give the folder explicitly (--config-dir, -ConfigFolder).");
        return System.IO.Path.Combine(home, ".config", FolderName);
    }

    /// <summary>True when this is this user's default folder, so commands need not name it.</summary>
    public bool IsDefault
    {
        get
        {
            try
            {
                return Path == System.IO.Path.GetFullPath(DefaultPath(Environment.GetEnvironmentVariable));
            }
            catch (UsbRedirException)
            {
                return false;
            }
        }
    }

    /// <summary>The full path of <paramref name="fileName"/> in this folder.</summary>
    public string File(string fileName) => System.IO.Path.Combine(Path, fileName);

    /// <summary>Creates the folder (and its parents) if needed; the folder itself is made 0700.</summary>
    /// <exception cref="UsbRedirException">It cannot be created (ConfigFolderFailed).</exception>
    public void EnsureExists()
    {
        try
        {
            if (Directory.Exists(Path))
                return;
            Directory.CreateDirectory(Path);
            if (!OperatingSystem.IsWindows())
                System.IO.File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsbRedirException("ConfigFolderFailed", UsbRedirErrorCategory.PermissionDenied,
                $"Cannot create the configuration folder {Path}: {e.Message}",
                "Check the permissions of its parent folder, or give another folder (--config-dir, -ConfigFolder).", Path, e);
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="fileName"/> in this folder, readable and writable by this user only
    /// (0600): into a temporary file first, renamed over the old one. Creates the folder if needed.
    /// </summary>
    /// <exception cref="UsbRedirException">The file cannot be written (ConfigFileWriteFailed).</exception>
    public void WritePrivateFile(string fileName, string text)
    {
        EnsureExists();
        var target = File(fileName);
        var temporary = target + ".tmp" + Environment.ProcessId;
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
                writer.Write(text);
            System.IO.File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { System.IO.File.Delete(temporary); } catch (Exception) { /* nothing was written */ }
            throw new UsbRedirException("ConfigFileWriteFailed", UsbRedirErrorCategory.PermissionDenied,
                $"Cannot write {target}: {e.Message}", "Check the permissions of the folder and the file (they should be this user's).", target, e);
        }
    }

    /// <summary>The text of <paramref name="fileName"/> in this folder, or null when it does not exist.</summary>
    /// <exception cref="UsbRedirException">It exists but cannot be read (ConfigFileReadFailed).</exception>
    public string? ReadFile(string fileName)
    {
        var path = File(fileName);
        try
        {
            return System.IO.File.Exists(path) ? System.IO.File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsbRedirException("ConfigFileReadFailed", UsbRedirErrorCategory.PermissionDenied,
                $"Cannot read {path}: {e.Message}", "Check the file's permissions (it should be this user's, mode 0600).", path, e);
        }
    }

    public override string ToString() => Path;
}
