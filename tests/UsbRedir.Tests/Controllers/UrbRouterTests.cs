using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;

namespace UsbRedir.Tests.Controllers;

/// <summary>The URB router against a real software device (the boot keyboard): what goes where, and what comes back.</summary>
public sealed class UrbRouterTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly BootKeyboard _keyboard = VirtualDevices.CreateKeyboard();
    private readonly UrbRouter _router;
    private ulong _nextId = 1;

    public UrbRouterTests() => _router = new UrbRouter(_keyboard);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _keyboard.DisposeAsync();

    private Urb Control(byte requestType, byte request, ushort value, ushort index, ushort length, int bufferLength = -1) => new()
    {
        Id = _nextId++,
        Endpoint = (byte)(requestType & 0x80),
        Type = UrbTransferType.Control,
        Setup = new UsbSetupPacket(requestType, request, value, index, length),
        Buffer = new byte[bufferLength < 0 ? length : bufferLength],
    };

    private Task<UrbResult> Submit(Urb urb, CancellationToken unlink = default) => _router.SubmitAsync(urb, unlink).WaitAsync(Timeout);

    private async Task ConfigureAsync() =>
        Assert.Equal(UrbStatus.Success, (await Submit(Control(0x00, UsbStandardRequests.SetConfiguration, 1, 0, 0))).Status);

    [Fact]
    public async Task Set_address_is_answered_by_the_router_and_never_reaches_the_device()
    {
        var result = await Submit(Control(0x00, UsbStandardRequests.SetAddress, 9, 0, 0));

        Assert.Equal(new UrbResult(UrbStatus.Success, 0), result);
        Assert.Equal(9, _router.Address);
        Assert.Equal(0, _keyboard.Address);
        Assert.Equal(UrbStatus.Stall, (await Submit(Control(0x00, UsbStandardRequests.SetAddress, 128, 0, 0))).Status);
        Assert.Equal(9, _router.Address);
    }

    [Fact]
    public async Task Set_configuration_and_set_interface_go_to_the_dedicated_device_methods()
    {
        await ConfigureAsync();
        Assert.Equal(1, _keyboard.ActiveConfiguration);

        Assert.Equal(UrbStatus.Success, (await Submit(Control(0x01, UsbStandardRequests.SetInterface, 0, 0, 0))).Status);
        // The keyboard's interface has no alternate setting 1: the device's answer (a stall) comes back.
        Assert.Equal(UrbStatus.Stall, (await Submit(Control(0x01, UsbStandardRequests.SetInterface, 1, 0, 0))).Status);
        Assert.Equal(UrbStatus.Stall, (await Submit(Control(0x00, UsbStandardRequests.SetConfiguration, 7, 0, 0))).Status);
    }

    [Fact]
    public async Task Descriptors_come_back_never_longer_than_wLength_even_with_a_bigger_buffer()
    {
        var full = Control(0x80, UsbStandardRequests.GetDescriptor, 0x0100, 0, 64);
        var result = await Submit(full);
        Assert.Equal(new UrbResult(UrbStatus.Success, 18), result);
        Assert.Equal(_keyboard.DeviceDescriptor.ToArray(), full.Buffer[..18].ToArray());

        var first8 = Control(0x80, UsbStandardRequests.GetDescriptor, 0x0100, 0, 8, bufferLength: 64);
        Assert.Equal(new UrbResult(UrbStatus.Success, 8), await Submit(first8));
        Assert.All(first8.Buffer[8..].ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Short_not_ok_turns_a_short_in_transfer_into_an_error_with_the_data_kept()
    {
        var strict = new Urb
        {
            Id = 1, Endpoint = 0x80, Type = UrbTransferType.Control, Flags = UrbFlags.ShortNotOk,
            Setup = new UsbSetupPacket(0x80, UsbStandardRequests.GetDescriptor, 0x0100, 0, 64), Buffer = new byte[64],
        };

        var result = await Submit(strict);

        Assert.Equal(UrbStatus.ShortPacket, result.Status);
        Assert.Equal(18, result.ActualLength);
        Assert.Equal(-121, result.LinuxStatus);
    }

    [Fact]
    public async Task Interrupt_in_waits_for_a_report_and_an_unlink_cancels_it()
    {
        await ConfigureAsync();
        using var unlink = new CancellationTokenSource();
        var pending = _router.SubmitAsync(Interrupt(), unlink.Token);
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);

        unlink.Cancel();

        Assert.Equal(new UrbResult(UrbStatus.Cancelled, 0), await pending.WaitAsync(Timeout));
        Assert.Equal(-104, (await pending).LinuxStatus);
    }

    [Fact]
    public async Task Interrupt_in_delivers_a_scripted_key_report()
    {
        await ConfigureAsync();
        _keyboard.Type("a");
        var urb = Interrupt();

        var result = await Submit(urb);

        Assert.Equal(new UrbResult(UrbStatus.Success, 8), result);
        Assert.Equal(0x04, urb.Buffer.Span[2]); // HID usage of 'a'
    }

    [Fact]
    public async Task Clear_feature_endpoint_halt_goes_to_clear_halt()
    {
        await ConfigureAsync();
        // SET_FEATURE(ENDPOINT_HALT) is an ordinary control transfer; the device halts the endpoint.
        Assert.Equal(UrbStatus.Success, (await Submit(Control(0x02, UsbStandardRequests.SetFeature, 0, BootKeyboard.InterruptInEndpoint, 0))).Status);
        Assert.Equal(UrbStatus.Stall, (await Submit(Interrupt())).Status);

        Assert.Equal(UrbStatus.Success, (await Submit(Control(0x02, UsbStandardRequests.ClearFeature, 0, BootKeyboard.InterruptInEndpoint, 0))).Status);

        _keyboard.Type("b");
        Assert.Equal(UrbStatus.Success, (await Submit(Interrupt())).Status);
    }

    [Fact]
    public async Task A_port_reset_resets_the_device_and_the_address()
    {
        await Submit(Control(0x00, UsbStandardRequests.SetAddress, 3, 0, 0));
        await ConfigureAsync();

        Assert.Equal(UsbStatus.Success, await _router.ResetAsync(CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(0, _router.Address);
        Assert.Equal(0, _keyboard.ActiveConfiguration);
    }

    [Fact]
    public async Task Isochronous_urbs_fail_packet_by_packet_because_devices_have_no_isochronous_transfers()
    {
        var urb = new Urb
        {
            Id = 1, Endpoint = 0x83, Type = UrbTransferType.Isochronous, Buffer = new byte[3 * 192],
            IsoPackets = [new(0, 192), new(192, 192), new(384, 192)],
        };

        var result = await Submit(urb);

        Assert.Equal(0, result.ActualLength);
        Assert.Equal(3, result.IsoErrorCount);
        Assert.All(result.IsoPackets!, p => Assert.Equal(new IsoPacketResult(UrbStatus.NotTransferred, 0), p));
    }

    [Fact]
    public async Task Transfers_of_a_device_that_is_gone_fail_with_no_device()
    {
        await ConfigureAsync();
        await _keyboard.DisposeAsync();

        var result = await Submit(Interrupt());

        Assert.Equal(UrbStatus.NoDevice, result.Status);
        Assert.Equal(-19, result.LinuxStatus);
    }

    [Fact]
    public async Task A_device_that_throws_fails_only_that_urb()
    {
        var router = new UrbRouter(new ThrowingDevice());

        Assert.Equal(UrbStatus.ProtocolError, (await router.SubmitAsync(Control(0x80, 6, 0x0100, 0, 18), default)).Status);
        Assert.Equal(UrbStatus.ProtocolError, (await router.SubmitAsync(Interrupt(), default)).Status);
        Assert.Equal(UrbStatus.ProtocolError, (await router.SubmitAsync(Control(0x00, UsbStandardRequests.SetConfiguration, 1, 0, 0), default)).Status);
        Assert.Equal(UsbStatus.IoError, await router.ResetAsync(default));
    }

    private Urb Interrupt() => new()
    {
        Id = _nextId++, Endpoint = BootKeyboard.InterruptInEndpoint, Type = UrbTransferType.Interrupt, Buffer = new byte[8], Interval = 10,
    };

    /// <summary>A device whose every call throws, synchronously or not: the router must contain it.</summary>
    private sealed class ThrowingDevice : IUsbDevice
    {
        public string Description => "throws";
        public UsbSpeed Speed => UsbSpeed.Full;
        public ReadOnlyMemory<byte> DeviceDescriptor => new byte[18];
        public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors => [];
        public byte ActiveConfiguration => 0;
        public CancellationToken Gone => CancellationToken.None;
        public byte GetAlternateSetting(byte interfaceNumber) => 0;
        public Task<UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken) =>
            Task.FromException<UsbStatus>(new InvalidOperationException("async failure"));
        public Task<UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken) =>
            throw new InvalidOperationException();
        public Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("sync failure");
        public async Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            await Task.Yield();
            throw new IOException("async failure");
        }
        public Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken) => throw new InvalidOperationException();
        public Task<UsbStatus> ResetAsync(CancellationToken cancellationToken) => throw new InvalidOperationException();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
