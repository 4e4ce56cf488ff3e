using UsbRedir.Controllers;

namespace UsbRedir.Cli.Commands;

/// <summary>The controller options commands share: --backend auto|vhci-ctrl|usbip.</summary>
internal static class ControllerArguments
{
    public const string BackendUsage = """
          --backend auto|vhci-ctrl|usbip
                                auto (default): our usbredir_vhci module when /dev/vhci-ctrl exists,
                                else the stock USB/IP vhci_hcd
        """;

    public static ControllerBackend Backend(CliArguments a) => a.Value("backend") switch
    {
        null or "auto" => ControllerBackend.Auto,
        "vhci-ctrl" => ControllerBackend.VhciCtrl,
        "usbip" => ControllerBackend.Usbip,
        var b => throw new CliUsageException($"--backend must be auto, vhci-ctrl or usbip, not '{b}'"),
    };
}
