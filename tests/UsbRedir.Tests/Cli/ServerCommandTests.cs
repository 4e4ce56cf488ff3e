using UsbRedir.Controllers;

namespace UsbRedir.Tests.Cli;

/// <summary>`usbredir server` arguments and the errors a user sees before anything listens (the VM test runs it for real).</summary>
public sealed class ServerCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => FilterCommandTests.Run(["server", .. args]);

    [Fact]
    public void Help_lists_the_options_of_the_original_vhciserver_mapping()
    {
        var (exit, output, _) = Run("--help");
        Assert.Equal(0, exit);
        foreach (var option in new[] { "--port N", "--address A", "--filter RULES", "--ports N", "--backend auto|vhci-ctrl|usbip" })
            Assert.Contains(option, output);
        Assert.Contains("default 1138", output);
    }

    [Theory]
    [InlineData("--address", "not-an-address", "--address wants an IP address")]
    [InlineData("--backend", "qemu", "--backend must be auto, vhci-ctrl or usbip, not 'qemu'")]
    [InlineData("--ports", "40", "--ports")]
    [InlineData("--port", "70000", "--port")]
    public void Bad_arguments_are_usage_errors_naming_the_option(string option, string value, string message)
    {
        var (exit, _, error) = Run(option, value);
        Assert.Equal(2, exit);
        Assert.Contains(message, error);
    }

    [Fact]
    public void A_bad_filter_is_refused_before_a_controller_is_created()
    {
        var (exit, _, error) = Run("--filter", "0x08,-1,-1", "--backend", "vhci-ctrl");
        Assert.Equal(2, exit);
        Assert.Contains("[FilterTokenCount]", error);
        Assert.DoesNotContain("VhciModuleMissing", error);
    }

    [Fact]
    public void Without_the_kernel_module_the_error_says_how_to_load_it()
    {
        // Test hosts run another kernel than the guests' 6.1 and never have the module loaded; the controller is
        // created before anything listens, so the port is never bound.
        Assert.False(File.Exists(VirtualHostControllerFactory.VhciCtrlDevicePath), "this test needs a host without usbredir_vhci loaded");
        var (exit, _, error) = Run("--backend", "vhci-ctrl", "--port", "47150");
        Assert.Equal(1, exit);
        Assert.Contains("[VhciModuleMissing]", error);
        Assert.Contains("usbredir: fix:", error);
    }
}
