using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using UsbRedir.Devices.Local;

namespace UsbRedir.PowerShell.Devices;

/// <summary>
/// Tab completion of the USB devices plugged in now, for any parameter that names one (Get-UsbDevice -Id/-BusId, and
/// the cmdlets that take a local device): a parameter named BusId completes busids ("2-1.3"), any other ids
/// ("2.0.2"); the tooltip says what the device is. Use it as <c>[ArgumentCompleter(typeof(UsbDeviceIdCompleter))]</c>.
/// </summary>
public sealed class UsbDeviceIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<UsbDeviceInfo> devices;
        try
        {
            devices = UsbDeviceEnumerator.FromEnvironment().GetDevices();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        return Complete(devices, wordToComplete, string.Equals(parameterName, "BusId", StringComparison.OrdinalIgnoreCase))
            .Select(c => new CompletionResult(c.Text, c.Text, CompletionResultType.ParameterValue, c.ToolTip));
    }

    /// <summary>
    /// The devices whose id (or busid) starts with <paramref name="word"/> (quotes ignored), in tree order; hubs last
    /// in relevance but still offered, since devices can be named through them.
    /// </summary>
    public static IReadOnlyList<(string Text, string ToolTip)> Complete(IReadOnlyList<UsbDeviceInfo> devices, string? word, bool busIds)
    {
        var prefix = (word ?? "").Trim('\'', '"');
        return devices
            .Select(d => (Device: d, Text: busIds ? d.BusId : d.Id))
            .Where(x => x.Text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .OrderBy(x => x.Device.IsHub)
            .Select(x => (x.Text, $"{(busIds ? x.Device.Id : x.Device.BusId)} {x.Device.VidPid} {x.Device.ClassName}: {x.Device.Manufacturer} {x.Device.Product}"))
            .ToList();
    }
}
