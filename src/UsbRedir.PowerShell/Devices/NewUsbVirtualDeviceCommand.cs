using System.Management.Automation;
using UsbRedir.Devices;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Devices.Software.MassStorage;

namespace UsbRedir.PowerShell.Devices;

/// <summary>
/// New-UsbVirtualDevice: a software USB device (a flash drive over an image file, or a boot keyboard) to pipe into
/// Connect-UsbDevice. The device lives in this session until the module is removed; disconnecting leaves it usable.
/// </summary>
/// <remarks>ShouldProcess: a disk opens (and, unless -ReadOnly, locks) an image file, which -WhatIf must not do.</remarks>
[Cmdlet(VerbsCommon.New, "UsbVirtualDevice", SupportsShouldProcess = true, DefaultParameterSetName = DiskSet)]
[OutputType(typeof(MassStorageDevice), ParameterSetName = [DiskSet])]
[OutputType(typeof(BootKeyboard), ParameterSetName = [KeyboardSet])]
public sealed class NewUsbVirtualDeviceCommand : UsbRedirCmdlet
{
    private const string DiskSet = "Disk";
    private const string KeyboardSet = "Keyboard";

    /// <summary>The raw image (a whole number of 512-byte blocks); relative paths are relative to the PowerShell location.</summary>
    [Parameter(ParameterSetName = DiskSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "Path")]
    public string DiskImage { get; set; } = "";

    /// <summary>The drive refuses writes (write-protected, like the switch on an SD card); the image is never changed.</summary>
    [Parameter(ParameterSetName = DiskSet)]
    public SwitchParameter ReadOnly { get; set; }

    [Parameter(ParameterSetName = KeyboardSet, Mandatory = true)]
    public SwitchParameter Keyboard { get; set; }

    /// <summary>Keys typed once a host has configured the keyboard (KeyboardScript syntax: text, {ENTER}, {CTRL+ALT+DEL}...).</summary>
    [Parameter(ParameterSetName = KeyboardSet)]
    public string? Keys { get; set; }

    /// <summary>How long to wait after the host configured the keyboard before typing -Keys (default 1 s, so the driver has bound).</summary>
    [Parameter(ParameterSetName = KeyboardSet)]
    [DurationTransformation]
    public TimeSpan KeysDelay { get; set; }

    /// <summary>Bus speed; default High for disks and Full for keyboards. Disks run at Full or High, keyboards at Low, Full or High.</summary>
    [Parameter]
    public UsbSpeed Speed { get; set; }

    protected override void Process()
    {
        UsbSpeed? speed = IsBound(nameof(Speed)) ? Speed : null;
        if (ParameterSetName == KeyboardSet)
        {
            if (ShouldProcess("virtual USB keyboard", "Create"))
                WriteObject(VirtualDeviceFactory.CreateKeyboard(UsbRedirModuleLifetime.Context, speed, Keys, IsBound(nameof(KeysDelay)) ? KeysDelay : null));
            return;
        }
        var path = ResolveImagePath(DiskImage);
        if (ShouldProcess(path, ReadOnly ? "Open as a read-only virtual USB disk" : "Open as a virtual USB disk"))
            WriteObject(VirtualDeviceFactory.CreateDisk(UsbRedirModuleLifetime.Context, path, ReadOnly, speed));
    }

    /// <summary>The file system path of <paramref name="path"/> as PowerShell sees it (its location, its drives), not as the process does.</summary>
    private string ResolveImagePath(string path)
    {
        string resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
        }
        catch (Exception e) when (e is SessionStateException or NotSupportedException or PSArgumentException or PSInvalidOperationException or ProviderInvocationException)
        {
            throw ImagePathInvalid(path, e.Message, e);
        }
        if (provider.Name != "FileSystem")
            throw ImagePathInvalid(path, $"it is on the {provider.Name} provider, not on the file system", null);
        return resolved;
    }

    private static UsbRedirException ImagePathInvalid(string path, string why, Exception? inner) =>
        new("DiskImagePathInvalid", UsbRedirErrorCategory.InvalidArgument, $"'{path}' cannot be used as a disk image: {why}.",
            "Give the path of an image file, e.g. ./stick.img (create one with: truncate -s 64M stick.img, then format it).", path, inner);
}
