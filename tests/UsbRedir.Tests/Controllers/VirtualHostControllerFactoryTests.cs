using UsbRedir.Controllers;

namespace UsbRedir.Tests.Controllers;

/// <summary>Backend choice and the errors that come before any backend runs.</summary>
public sealed class VirtualHostControllerFactoryTests
{
    [Theory]
    [InlineData(true, ControllerBackend.VhciCtrl)]
    [InlineData(false, ControllerBackend.Usbip)]
    public void Auto_picks_our_module_when_its_node_exists_else_usbip(bool nodePresent, ControllerBackend expected)
    {
        var factory = new VirtualHostControllerFactory([], () => nodePresent);

        Assert.Equal(expected, factory.Resolve(ControllerBackend.Auto));
        Assert.Equal(ControllerBackend.Usbip, factory.Resolve(ControllerBackend.Usbip));
        Assert.Equal(ControllerBackend.VhciCtrl, factory.Resolve(ControllerBackend.VhciCtrl));
    }

    [Fact]
    public async Task Auto_creates_through_the_resolved_backend()
    {
        var usbip = new CountingBackend(ControllerBackend.Usbip, 15);
        var factory = new VirtualHostControllerFactory([new CountingBackend(ControllerBackend.VhciCtrl, 31), usbip], () => false);

        await Assert.ThrowsAsync<NotSupportedException>(() => factory.CreateAsync(4));

        Assert.Equal([4], usbip.Requests);
    }

    [Fact]
    public async Task A_backend_missing_from_the_build_is_named()
    {
        var factory = new VirtualHostControllerFactory([new CountingBackend(ControllerBackend.VhciCtrl, 31)], () => false);

        var error = await Assert.ThrowsAsync<UsbRedirException>(() => factory.CreateAsync(4, ControllerBackend.Auto));

        Assert.Equal("ControllerBackendUnavailable", error.ErrorId);
        Assert.Contains("Usbip", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(32)]
    public async Task Port_counts_outside_the_backend_range_are_refused_before_it_runs(int ports)
    {
        var backend = new CountingBackend(ControllerBackend.VhciCtrl, 31);
        var factory = new VirtualHostControllerFactory([backend], () => true);

        var error = await Assert.ThrowsAsync<UsbRedirException>(() => factory.CreateAsync(ports));

        Assert.Equal("PortCountInvalid", error.ErrorId);
        Assert.Contains("1 to 31 ports", error.Message);
        Assert.Empty(backend.Requests);
    }

    private sealed class CountingBackend(ControllerBackend kind, int maxPorts) : IVirtualHostControllerBackend
    {
        public List<int> Requests { get; } = [];

        public ControllerBackend Kind => kind;

        public int MaxPorts => maxPorts;

        public Task<IVirtualHostController> CreateAsync(int ports, CancellationToken cancellationToken)
        {
            Requests.Add(ports);
            return Task.FromException<IVirtualHostController>(new NotSupportedException("recorded only"));
        }
    }
}
