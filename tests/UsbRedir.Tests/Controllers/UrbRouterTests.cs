using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;
using UsbRedir.Devices.Software;
using UsbRedir.Devices.Software.Hid;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Controllers;

/// <summary>The URB router against a real software device (the boot keyboard): what goes where, and what comes back.</summary>
public sealed class UrbRouterTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestDeadline.Default;
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
        // SET_IDLE 0, as usbhid sends it: at the default idle rate the keyboard repeats its report 500 ms after it was
        // created, and on a loaded machine that repeat, not the unlink, could end the read.
        Assert.Equal(UrbStatus.Success, (await Submit(Control(0x21, HidRequests.SetIdle, 0, BootKeyboard.InterfaceNumber, 0))).Status);
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

    private static Urb Iso(byte endpoint, int packetSize, int count, UrbFlags flags = default) => new()
    {
        Id = 1, Endpoint = endpoint, Type = UrbTransferType.Isochronous, Buffer = new byte[count * packetSize], Flags = flags, Interval = 1,
        IsoPackets = Enumerable.Range(0, count).Select(i => new UsbIsoPacket(i * packetSize, packetSize)).ToArray(),
    };

    [Fact]
    public async Task Isochronous_urbs_become_iso_transfers_with_linux_packet_statuses()
    {
        var device = new IsoScriptedDevice(_keyboard,
        [
            new(UsbStatus.Success, 192), new(UsbStatus.Success, 100), new(UsbStatus.Babble, 192), new(UsbStatus.Stall, 0),
            new(UsbStatus.IoError, 0), new(UsbStatus.Timeout, 0), new(UsbStatus.Cancelled, 0), new(UsbStatus.Success, 5000),
        ]);
        var router = new UrbRouter(device);

        var result = await router.SubmitAsync(Iso(0x83, 192, 9), default).WaitAsync(Timeout);

        var call = Assert.Single(device.Calls);
        Assert.Equal(0x83, call.Endpoint);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => new UsbIsoPacket(i * 192, 192)), call.Packets);
        Assert.Equal(9 * 192, call.BufferLength);
        Assert.Equal(UrbStatus.Success, result.Status);
        Assert.Equal(
        [
            new(UrbStatus.Success, 192), new(UrbStatus.Success, 100), new(UrbStatus.Babble, 192), new(UrbStatus.Stall, 0),
            new(UrbStatus.ProtocolError, 0), new(UrbStatus.ProtocolError, 0), new(UrbStatus.NotTransferred, 0),
            new(UrbStatus.Success, 192), // the device claimed more than the packet holds: clamped
            new(UrbStatus.NotTransferred, 0), // the device reported only 8 of 9 packets
        ], result.IsoPackets!);
        Assert.Equal(new[] { 0, 0, -75, -32, -71, -71, -18, 0, -18 }, result.IsoPackets!.Select(p => UrbStatusCodes.ToLinuxErrno(p.Status)));
        Assert.Equal(192 + 100 + 192 + 192, result.ActualLength); // Linux counts an iso URB's length as the sum of its packets'
        Assert.Equal(6, result.IsoPackets!.Count(p => p.Status != UrbStatus.Success));
    }

    [Fact]
    public async Task Short_iso_in_packets_fail_with_remote_io_when_the_urb_says_short_not_ok()
    {
        var device = new IsoScriptedDevice(_keyboard, [new(UsbStatus.Success, 192), new(UsbStatus.Success, 10)]);
        var router = new UrbRouter(device);

        var result = await router.SubmitAsync(Iso(0x83, 192, 2, UrbFlags.ShortNotOk), default).WaitAsync(Timeout);

        Assert.Equal([new(UrbStatus.Success, 192), new(UrbStatus.ShortPacket, 10)], result.IsoPackets!);
        Assert.Equal(-121, UrbStatusCodes.ToLinuxErrno(result.IsoPackets![1].Status));
        // OUT packets are never "short".
        var output = await router.SubmitAsync(Iso(0x03, 192, 2, UrbFlags.ShortNotOk), default).WaitAsync(Timeout);
        Assert.Equal([new(UrbStatus.Success, 192), new(UrbStatus.Success, 10)], output.IsoPackets!);
    }

    [Fact]
    public async Task Iso_urbs_to_a_device_without_iso_endpoints_fail_as_invalid_with_no_packet_transferred()
    {
        var result = await Submit(Iso(0x83, 192, 3));

        Assert.Equal(UrbStatus.Invalid, result.Status);
        Assert.Equal(-22, result.LinuxStatus);
        Assert.Equal(0, result.ActualLength);
        Assert.All(result.IsoPackets!, p => Assert.Equal(new IsoPacketResult(UrbStatus.NotTransferred, 0), p));
    }

    [Fact]
    public async Task Iso_urbs_pass_the_unlink_token_and_a_throwing_device_fails_only_that_urb()
    {
        var device = new IsoScriptedDevice(_keyboard, []) { Hold = true };
        var router = new UrbRouter(device);
        using var unlink = new CancellationTokenSource();
        var pending = router.SubmitAsync(Iso(0x83, 192, 2), unlink.Token);
        Assert.False(pending.IsCompleted);
        unlink.Cancel();
        var cancelled = await pending.WaitAsync(Timeout);
        Assert.Equal(UrbStatus.Cancelled, cancelled.Status);
        Assert.All(cancelled.IsoPackets!, p => Assert.Equal(UrbStatus.NotTransferred, p.Status));

        var throwing = await new UrbRouter(new ThrowingDevice()).SubmitAsync(Iso(0x83, 192, 2), default).WaitAsync(Timeout);
        Assert.Equal(UrbStatus.ProtocolError, throwing.Status);
        Assert.Equal(2, throwing.IsoPackets!.Count);
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
        public Task<UsbIsoTransferResult> IsoTransferAsync(byte endpoint, Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets,
            CancellationToken cancellationToken) => throw new InvalidOperationException("sync failure");
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// The keyboard with isochronous endpoints: every iso transfer is recorded and answered with the scripted packet results
    /// (or, with <see cref="Hold"/>, left pending until its token is cancelled, as a device answers an unlinked transfer).
    /// </summary>
    private sealed class IsoScriptedDevice(IUsbDevice inner, UsbIsoPacketResult[] answer) : IUsbDevice
    {
        public List<(byte Endpoint, int BufferLength, UsbIsoPacket[] Packets)> Calls { get; } = [];
        public bool Hold { get; init; }
        public string Description => inner.Description;
        public UsbSpeed Speed => inner.Speed;
        public ReadOnlyMemory<byte> DeviceDescriptor => inner.DeviceDescriptor;
        public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors => inner.ConfigurationDescriptors;
        public byte ActiveConfiguration => inner.ActiveConfiguration;
        public CancellationToken Gone => inner.Gone;
        public byte GetAlternateSetting(byte interfaceNumber) => inner.GetAlternateSetting(interfaceNumber);
        public Task<UsbStatus> SetConfigurationAsync(byte value, CancellationToken ct) => inner.SetConfigurationAsync(value, ct);
        public Task<UsbStatus> SetAlternateSettingAsync(byte i, byte alt, CancellationToken ct) => inner.SetAlternateSettingAsync(i, alt, ct);
        public Task<UsbTransferResult> ControlTransferAsync(UsbSetupPacket setup, Memory<byte> data, CancellationToken ct) =>
            inner.ControlTransferAsync(setup, data, ct);
        public Task<UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken ct) => inner.TransferAsync(endpoint, buffer, ct);
        public Task<UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken ct) => inner.ClearHaltAsync(endpoint, ct);
        public Task<UsbStatus> ResetAsync(CancellationToken ct) => inner.ResetAsync(ct);

        public async Task<UsbIsoTransferResult> IsoTransferAsync(byte endpoint, Memory<byte> buffer, IReadOnlyList<UsbIsoPacket> packets,
            CancellationToken cancellationToken)
        {
            Calls.Add((endpoint, buffer.Length, packets.ToArray()));
            if (!Hold)
                return new UsbIsoTransferResult(UsbStatus.Success, answer);
            await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, cancellationToken).ContinueWith(_ => { });
            return UsbIsoTransferResult.Failed(UsbStatus.Cancelled, packets.Count);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
