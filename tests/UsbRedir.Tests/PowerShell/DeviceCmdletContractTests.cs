using UsbRedir.Tests.PowerShell.Support;

namespace UsbRedir.Tests.PowerShell;

/// <summary>
/// How the device and connection cmdlets fit together and leave room for what comes next, read from metadata:
/// pipelines bind by type, TimeSpan parameters take seconds, and Connect-UsbDevice keeps position 0 for local device ids.
/// </summary>
public class DeviceCmdletContractTests
{
    private static CmdletMetadata Cmdlet(string name) => PublishedModule.Cmdlets.Single(c => c.Name == name);

    private static IEnumerable<(ParameterMetadata Parameter, ParameterSetMetadata Set)> ByValue(CmdletMetadata c) =>
        c.Parameters.SelectMany(p => p.Sets.Where(s => s.ValueFromPipeline).Select(s => (p, s)));

    [Fact]
    public void The_module_has_the_device_connection_controller_and_server_cmdlets()
    {
        var names = PublishedModule.Cmdlets.Select(c => c.Name).ToList();
        Assert.Contains("New-UsbVirtualDevice", names);
        Assert.Contains("Connect-UsbDevice", names);
        Assert.Contains("Get-UsbRedirConnection", names);
        Assert.Contains("Disconnect-UsbDevice", names);
        Assert.Contains("New-VhciController", names);
        Assert.Contains("Get-VhciController", names);
        Assert.Contains("Remove-VhciController", names);
        Assert.Contains("Start-UsbRedirServer", names);
        Assert.Contains("Get-UsbRedirServer", names);
        Assert.Contains("Stop-UsbRedirServer", names);
    }

    [Fact]
    public void Connect_UsbDevice_takes_a_local_device_id_at_position_0()
    {
        // "Connect-UsbDevice 2.0 -Server bob:1138": -Id is the only positional parameter, in the local-device sets, and
        // binds by property name (Get-UsbDevice ... | Connect-UsbDevice -Server ...).
        var connect = Cmdlet("Connect-UsbDevice");
        Assert.Equal(["DeviceListen", "DeviceToController", "DeviceToServer", "IdListen", "IdToController", "IdToServer"], connect.ParameterSetNames.Order());
        var positional = connect.Parameters.SelectMany(p => p.Sets.Where(s => s.Position is not null).Select(s => (p.Name, s))).ToList();
        Assert.Equal(["IdListen", "IdToController", "IdToServer"], positional.Select(x => x.s.SetName).Order());
        Assert.All(positional, x =>
        {
            Assert.Equal("Id", x.Name);
            Assert.Equal(0, x.s.Position);
            Assert.True(x.s.ValueFromPipelineByPropertyName);
        });
        Assert.Equal("DeviceToServer", connect.DefaultParameterSetName);
    }

    /// <summary>Every type <paramref name="source"/> writes is taken by value by -<paramref name="parameter"/> of <paramref name="target"/>.</summary>
    private static void Pipes(string source, string target, string parameter, Func<Type, bool>? only = null)
    {
        var p = ByValue(Cmdlet(target)).Select(x => x.Parameter).Distinct().Single(x => x.Name == parameter);
        var takes = p.Type.IsArray ? p.Type.GetElementType()! : p.Type;
        foreach (var output in Cmdlet(source).OutputTypes.Where(only ?? (_ => true)))
            Assert.True(takes.IsAssignableFrom(output), $"{source} writes {output}, which {target} -{parameter} cannot take");
    }

    [Fact]
    public void Each_cmdlet_pipes_into_the_next()
    {
        Pipes("New-UsbVirtualDevice", "Connect-UsbDevice", "Device");
        Pipes("Get-UsbRedirConnection", "Disconnect-UsbDevice", "Connection");
        Pipes("Connect-UsbDevice", "Disconnect-UsbDevice", "Connection", t => t.Name == "UsbRedirConnection");
        Pipes("Connect-UsbDevice", "Disconnect-UsbDevice", "Plug", t => t.Name == "UsbDevicePlug");
        Pipes("Get-VhciController", "Remove-VhciController", "Controller");
        Pipes("New-VhciController", "Remove-VhciController", "Controller");
        Pipes("New-VhciController", "Start-UsbRedirServer", "Controller");
        Pipes("Get-UsbRedirServer", "Stop-UsbRedirServer", "Server");
        Pipes("Start-UsbRedirServer", "Stop-UsbRedirServer", "Server", t => t.Name == "UsbRedirServer"); // -AsJob: Stop-Job

        // -Controller of Connect-UsbDevice takes what New-/Get-VhciController write.
        var controller = Cmdlet("Connect-UsbDevice").Parameters.Single(p => p.Name == "Controller").Type;
        Assert.All(Cmdlet("New-VhciController").OutputTypes.Concat(Cmdlet("Get-VhciController").OutputTypes), t => Assert.True(controller.IsAssignableFrom(t)));

        // Objects with an Id bind to -Id by property name.
        foreach (var (source, target) in new[]
                 { ("Get-UsbRedirConnection", "Disconnect-UsbDevice"), ("Get-VhciController", "Remove-VhciController"), ("Get-UsbRedirServer", "Stop-UsbRedirServer") })
        {
            Assert.NotNull(Cmdlet(source).OutputTypes.Single().GetProperty("Id"));
            foreach (var name in new[] { source, target })
                Assert.Contains(Cmdlet(name).Parameters, p => p.Name == "Id" && p.Sets.All(s => s.ValueFromPipelineByPropertyName));
        }
    }

    [Fact]
    public void Every_TimeSpan_parameter_takes_seconds()
    {
        // PowerShell alone would read -Timeout 5 as five ticks.
        var violations = PublishedModule.Cmdlets.SelectMany(c => c.Parameters
            .Where(p => p.Type == typeof(TimeSpan)
                        && !p.Property.GetCustomAttributesData().Any(a => a.AttributeType.FullName == "UsbRedir.PowerShell.DurationTransformationAttribute"))
            .Select(p => $"{c} -{p}: a TimeSpan parameter needs [DurationTransformation]"));
        Violations.None(violations);
    }
}
