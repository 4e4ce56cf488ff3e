using UsbRedir.Security;

namespace UsbRedir.Tests.Security;

/// <summary>A configuration folder of its own for one test (not yet created: the code under test creates it), removed afterwards.</summary>
internal sealed class TempConfigFolder : IDisposable
{
    private readonly DirectoryInfo _parent = Directory.CreateTempSubdirectory("usbredir-auth-");

    public TempConfigFolder() => Folder = new UsbRedirConfigFolder(System.IO.Path.Combine(_parent.FullName, "usbredir"));

    public UsbRedirConfigFolder Folder { get; }

    public string Path => Folder.Path;

    public void Write(string fileName, string text)
    {
        Directory.CreateDirectory(Folder.Path);
        File.WriteAllText(Folder.File(fileName), text);
    }

    public string Read(string fileName) => File.ReadAllText(Folder.File(fileName));

    public void Dispose() => _parent.Delete(recursive: true);
}
