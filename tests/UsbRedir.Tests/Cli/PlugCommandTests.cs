using UsbRedir.Cli;
using UsbRedir.Controllers;

namespace UsbRedir.Tests.Cli;

/// <summary>
/// `usbredir plug` in-process: argument errors, and the module-missing error on a host without usbredir_vhci.ko loaded
/// (the test host; the working paths run in tests/vm through VhciCtrlBackendVmTests).
/// </summary>
public sealed class PlugCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var exit = Program.RunAsync(args, new CliConsole(output, error), CancellationToken.None).GetAwaiter().GetResult();
        return (exit, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("give exactly one device", "plug")]
    [InlineData("give exactly one device", "plug", "--keyboard", "--disk", "x.img")]
    [InlineData("--backend must be auto, vhci-ctrl or usbip", "plug", "--keyboard", "--backend", "xhci")]
    [InlineData("--ports must be a whole number from 1 to 31", "plug", "--keyboard", "--ports", "32")]
    [InlineData("--port must be a whole number from 0 to 2", "plug", "--keyboard", "--ports", "2", "--port", "3")]
    [InlineData("--keys applies to --keyboard only", "plug", "--disk", "/dev/null", "--read-only", "--keys", "x")]
    [InlineData("--keys applies to --keyboard only", "plug", "--disk", "/dev/null", "--type-delay", "2")]
    [InlineData("give --keys or --type, not both", "plug", "--keyboard", "--keys", "a", "--type", "b")]
    public void Bad_arguments_are_usage_errors_that_say_what_is_wrong(string expected, params string[] args)
    {
        var (exit, _, err) = Run(args);

        Assert.Equal(2, exit);
        Assert.Contains(expected, err);
        Assert.Contains("usage: usbredir plug", err);
    }

    [Fact]
    public void Without_the_module_loaded_it_names_the_missing_module_and_the_fix()
    {
        // Test hosts run another kernel than the guests' 6.1 and never have the module loaded.
        Assert.False(File.Exists(VirtualHostControllerFactory.VhciCtrlDevicePath), "this test needs a host without usbredir_vhci loaded");

        var (exit, _, err) = Run("plug", "--keyboard", "--backend", "vhci-ctrl");

        Assert.Equal(1, exit);
        Assert.Contains("error [VhciModuleMissing]: /dev/vhci-ctrl does not exist: the usbredir_vhci kernel module is not loaded.", err);
        Assert.Contains("fix: Build and load it", err);
    }
}
