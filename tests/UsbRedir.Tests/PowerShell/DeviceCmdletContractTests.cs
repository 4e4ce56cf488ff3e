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
    public void The_module_has_the_device_and_connection_cmdlets()
    {
        var names = PublishedModule.Cmdlets.Select(c => c.Name).ToList();
        Assert.Contains("New-UsbVirtualDevice", names);
        Assert.Contains("Connect-UsbDevice", names);
        Assert.Contains("Get-UsbRedirConnection", names);
        Assert.Contains("Disconnect-UsbDevice", names);
    }

    [Fact]
    public void Connect_UsbDevice_keeps_position_0_free_for_a_local_device_id()
    {
        // "Connect-UsbDevice 2.0 -Server bob:1138" must stay possible: a device object must never be positional.
        var connect = Cmdlet("Connect-UsbDevice");
        Violations.None(connect.Parameters.SelectMany(p => p.Sets.Where(s => s.Position is not null)
            .Select(s => $"-{p.Name} takes position {s.Position} in set {s.SetName}")));
        Assert.Equal("DeviceToServer", connect.DefaultParameterSetName);
    }

    [Fact]
    public void Each_cmdlet_pipes_into_the_next()
    {
        var connect = ByValue(Cmdlet("Connect-UsbDevice")).Single();
        foreach (var device in Cmdlet("New-UsbVirtualDevice").OutputTypes)
            Assert.True(connect.Parameter.Type.IsAssignableFrom(device), $"New-UsbVirtualDevice writes {device}, which -{connect.Parameter} cannot take");

        var disconnect = ByValue(Cmdlet("Disconnect-UsbDevice")).Single();
        foreach (var source in new[] { "Connect-UsbDevice", "Get-UsbRedirConnection" })
            foreach (var connection in Cmdlet(source).OutputTypes)
                Assert.True(disconnect.Parameter.Type.GetElementType()!.IsAssignableFrom(connection), $"{source} writes {connection}, which -{disconnect.Parameter} cannot take");

        // Objects with an Id (connections, or anything else) bind to -Id by property name.
        var connectionType = Cmdlet("Get-UsbRedirConnection").OutputTypes.Single();
        Assert.NotNull(connectionType.GetProperty("Id"));
        foreach (var name in new[] { "Get-UsbRedirConnection", "Disconnect-UsbDevice" })
            Assert.Contains(Cmdlet(name).Parameters, p => p.Name == "Id" && p.Sets.All(s => s.ValueFromPipelineByPropertyName));
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
