using UsbRedir.Filtering;

namespace UsbRedir.Tests.Filtering;

/// <summary>usbredirfilter_check's passes, skips, recheck and flags, with the deciding rule and pass reported.</summary>
public sealed class FilterCheckTests
{
    private static readonly UsbRedirFilterInterface MassStorage = new(8, 6, 0x50);
    private static readonly UsbRedirFilterInterface NonBootHid = new(3, 0, 0);
    private static readonly UsbRedirFilterInterface Audio = new(1, 1, 0);

    private static IReadOnlyList<UsbRedirFilterRule> Rules(string text) => UsbRedirFilter.Parse(text);

    [Fact]
    public void FirstMatchingRuleDecidesInTheDevicePass()
    {
        var stick = new UsbRedirFilterDevice(8, 0, 0, 0x0781, 0x5567, 0x0100, MassStorage);
        var result = UsbRedirFilter.Check(Rules("0x08,-1,-1,-1,0|-1,-1,-1,-1,1"), stick);
        Assert.Equal(UsbRedirFilterDecision.Denied, result.Decision);
        Assert.Equal(-1, result.Code);
        Assert.False(result.IsAllowed);
        Assert.Equal(0, result.RuleIndex);
        Assert.Equal(UsbRedirFilterPassKind.Device, result.DecidingPass!.Kind);
        Assert.Single(result.Passes);
        Assert.Contains("Denied by rule 0 (0x08,-1,-1,-1,0) in the device class 0x08 pass", result.Message);
    }

    [Fact]
    public void InterfacePassesUseTheDeviceIdsWithTheInterfaceClass()
    {
        // Class 0 device: the device pass is skipped, each interface is checked with vid/pid/bcd of the device.
        var composite = new UsbRedirFilterDevice(0, 0, 0, 0x1234, 0x5678, 0x0200, Audio, MassStorage);
        var result = UsbRedirFilter.Check(Rules("0x01,0x1234,0x5678,0x0200,1|0x08,0x1234,-1,-1,0|-1,-1,-1,-1,1"), composite);
        Assert.Equal(UsbRedirFilterDecision.Denied, result.Decision);
        Assert.Equal(1, result.RuleIndex);
        Assert.Equal(UsbRedirFilterPassKind.Interface, result.DecidingPass!.Kind);
        Assert.Equal(1, result.DecidingPass.InterfaceIndex);
        Assert.Equal([UsbRedirFilterPassOutcome.Skipped, UsbRedirFilterPassOutcome.Allowed, UsbRedirFilterPassOutcome.Denied],
            result.Passes.Select(p => p.Outcome));
    }

    [Fact]
    public void NoMatchEndsTheCheckUnlessDefaultAllow()
    {
        var device = new UsbRedirFilterDevice(0xff, 0, 0, 1, 2, 3, new UsbRedirFilterInterface(0xff, 0, 0));
        var rules = Rules("0x08,-1,-1,-1,1");
        var strict = UsbRedirFilter.Check(rules, device);
        Assert.Equal(UsbRedirFilterDecision.NoMatch, strict.Decision);
        Assert.Equal(-2, strict.Code);
        Assert.Equal(-1, strict.RuleIndex);
        var lenient = UsbRedirFilter.Check(rules, device, UsbRedirFilterCheckFlags.DefaultAllow);
        Assert.Equal(UsbRedirFilterDecision.Allowed, lenient.Decision);
        Assert.All(lenient.Passes, p => Assert.Equal(UsbRedirFilterPassOutcome.DefaultAllowed, p.Outcome));
        Assert.Contains("DefaultAllow", lenient.Message);
        // No rules at all and a non-zero class: NoMatch (spec quirk).
        Assert.Equal(UsbRedirFilterDecision.NoMatch, UsbRedirFilter.Check([], device).Decision);
    }

    [Fact]
    public void NonBootHidInterfacesOfMultiInterfaceDevicesAreSkipped()
    {
        // A headset: audio plus volume keys. Blocking HID must not block the headset...
        var headset = new UsbRedirFilterDevice(0, 0, 0, 0x0d8c, 0x0014, 0x0100, Audio, NonBootHid);
        var rules = Rules("0x03,-1,-1,-1,0|-1,-1,-1,-1,1");
        var result = UsbRedirFilter.Check(rules, headset);
        Assert.True(result.IsAllowed);
        Assert.Equal(UsbRedirFilterPassOutcome.Skipped, result.Passes[2].Outcome);
        // ...unless told not to skip,
        Assert.Equal(UsbRedirFilterDecision.Denied,
            UsbRedirFilter.Check(rules, headset, UsbRedirFilterCheckFlags.DontSkipNonBootHid).Decision);
        // and a single non-boot HID interface is never skipped.
        var keys = new UsbRedirFilterDevice(0, 0, 0, 1, 1, 1, NonBootHid);
        Assert.Equal(UsbRedirFilterDecision.Denied, UsbRedirFilter.Check(rules, keys).Decision);
        // A boot-protocol keyboard (3/1/1) is not skipped either.
        var keyboard = new UsbRedirFilterDevice(0, 0, 0, 1, 1, 1, Audio, new UsbRedirFilterInterface(3, 1, 1));
        Assert.Equal(UsbRedirFilterDecision.Denied, UsbRedirFilter.Check(rules, keyboard).Decision);
    }

    [Fact]
    public void DevicesMadeOnlyOfNonBootHidAreRechecked()
    {
        // A KVM switch with two non-boot HID interfaces: all skipped, so C checks again without skipping.
        var kvm = new UsbRedirFilterDevice(0, 0, 0, 0x0557, 0x2419, 0x0100, NonBootHid, NonBootHid);
        var result = UsbRedirFilter.Check(Rules("0x03,-1,-1,-1,0|-1,-1,-1,-1,1"), kvm);
        Assert.Equal(UsbRedirFilterDecision.Denied, result.Decision);
        Assert.True(result.Rechecked);
        Assert.True(result.DecidingPass!.IsRecheck);
        Assert.Equal(0, result.DecidingPass.InterfaceIndex);
        Assert.Equal(3 + 2, result.Passes.Count); // device skipped + 2 skipped, then device skipped + denied
        Assert.Contains("recheck", result.Message);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0xef)]
    public void PerInterfaceDevicesWithoutInterfacesAreAllowedByAnything(byte deviceClass)
    {
        var unconfigured = new UsbRedirFilterDevice(deviceClass, 0, 0, 1, 2, 3);
        var result = UsbRedirFilter.Check(Rules("-1,-1,-1,-1,0"), unconfigured);
        Assert.Equal(UsbRedirFilterDecision.Allowed, result.Decision);
        Assert.Null(result.DecidingPass);
        Assert.Contains("no pass ran", result.Message);
        Assert.True(UsbRedirFilter.Check([], unconfigured).IsAllowed);
    }

    [Fact]
    public void InvalidRulesAreReportedWithTheRuleAndNoPassRuns()
    {
        var device = new UsbRedirFilterDevice(8, 0, 0, 1, 2, 3, MassStorage);
        var result = UsbRedirFilter.Check([new(8, -1, -1, -1, true), new(-1, -1, -1, 70000, false)], device);
        Assert.Equal(UsbRedirFilterDecision.InvalidRules, result.Decision);
        Assert.Equal(-22, result.Code);
        Assert.Empty(result.Passes);
        Assert.Equal(1, result.Error!.RuleIndex);
        Assert.Contains("version 70000", result.Message);
    }

    [Fact]
    public void DeviceSubclassAndProtocolAreIgnoredAndVersionIsRawBcd()
    {
        var a = new UsbRedirFilterDevice(9, 0, 0, 1, 2, 0x0256, new UsbRedirFilterInterface(9, 0, 0));
        var b = new UsbRedirFilterDevice(9, 0xaa, 0xbb, 1, 2, 0x0256, new UsbRedirFilterInterface(9, 0, 0));
        var rules = Rules("9,1,2,0x0256,0|-1,-1,-1,-1,1");
        Assert.Equal(UsbRedirFilterDecision.Denied, UsbRedirFilter.Check(rules, a).Decision);
        Assert.Equal(UsbRedirFilterDecision.Denied, UsbRedirFilter.Check(rules, b).Decision);
        Assert.True(UsbRedirFilter.Check(Rules("9,1,2,256,0|-1,-1,-1,-1,1"), a).IsAllowed);
    }

    [Fact]
    public void DevicesAndInterfacesHaveATextForm()
    {
        var device = UsbRedirFilterDevice.Parse("08:0781:0x5567:0100", UsbRedirFilterInterface.Parse("08/06/50"));
        Assert.Equal(8, device.Class);
        Assert.Equal(0x0781, device.VendorId);
        Assert.Equal(0x5567, device.ProductId);
        Assert.Equal(0x0100, device.Version);
        Assert.Equal(new UsbRedirFilterInterface(8, 6, 0x50), device.Interfaces.Single());
        Assert.Equal("08:0781:5567:0100 [08/06/50]", device.ToString());
        Assert.Equal(UsbRedirFilterErrorIds.FilterDeviceInvalid,
            Assert.Throws<UsbRedirException>(() => UsbRedirFilterDevice.Parse("08:0781:5567")).ErrorId);
        Assert.Equal(UsbRedirFilterErrorIds.FilterDeviceInvalid,
            Assert.Throws<UsbRedirException>(() => UsbRedirFilterDevice.Parse("100:0781:5567:0100")).ErrorId);
        Assert.Equal(UsbRedirFilterErrorIds.FilterDeviceInvalid,
            Assert.Throws<UsbRedirException>(() => UsbRedirFilterInterface.Parse("3/0")).ErrorId);
    }
}

/// <summary>Building the check's input from raw descriptors, as usbredirhost does before redirecting.</summary>
public sealed class FilterDeviceDescriptorTests
{
    // A headset-like device: class 0, 0x0d8c:0x0014 bcdDevice 1.00.
    private static readonly byte[] DeviceDescriptor =
        [18, 1, 0x00, 0x02, 0x00, 0x00, 0x00, 64, 0x8c, 0x0d, 0x14, 0x00, 0x00, 0x01, 1, 2, 0, 1];

    private static byte[] Configuration(params byte[][] descriptors)
    {
        var body = descriptors.SelectMany(d => d).ToArray();
        var total = 9 + body.Length;
        byte[] header = [9, 2, (byte)total, (byte)(total >> 8), 2, 1, 0, 0x80, 50];
        return [.. header, .. body];
    }

    private static byte[] Interface(byte number, byte alt, byte cls, byte sub, byte proto) => [9, 4, number, alt, 0, cls, sub, proto, 0];

    [Fact]
    public void InterfacesComeFromTheFirstAlternateSettingOfEach()
    {
        var config = Configuration(
            Interface(0, 0, 1, 1, 0),
            Interface(1, 0, 1, 2, 0), [7, 5, 0x01, 1, 0xc0, 0, 1], Interface(1, 1, 1, 2, 0xaa),
            Interface(2, 0, 3, 0, 0), [7, 5, 0x83, 3, 8, 0, 10]);
        var device = UsbRedirFilterDevice.FromDescriptors(DeviceDescriptor, config);
        Assert.Equal("00:0d8c:0014:0100 [01/01/00 01/02/00 03/00/00]", device.ToString());
        // The headset's volume keys are skipped, so blocking HID leaves the headset allowed.
        Assert.True(UsbRedirFilter.Check(UsbRedirFilter.Parse("0x03,-1,-1,-1,0|-1,-1,-1,-1,1"), device).IsAllowed);
    }

    [Fact]
    public void AUsbDeviceIsDescribedByItsActiveConfiguration()
    {
        var storage = Configuration(Interface(0, 0, 8, 6, 0x50));
        storage[5] = 1;
        var printer = Configuration(Interface(0, 0, 7, 1, 2));
        printer[5] = 2;
        var device = new DescriptorOnlyDevice(DeviceDescriptor, [storage, printer]) { ActiveConfiguration = 2 };
        Assert.Equal(new UsbRedirFilterInterface(7, 1, 2), UsbRedirFilterDevice.FromUsbDevice(device).Interfaces.Single());
        device.ActiveConfiguration = 0;
        Assert.Empty(UsbRedirFilterDevice.FromUsbDevice(device).Interfaces);
    }

    /// <summary>Only the descriptor side of a device; the filter never transfers.</summary>
    private sealed class DescriptorOnlyDevice(byte[] deviceDescriptor, byte[][] configurations) : UsbRedir.Devices.IUsbDevice
    {
        public string Description => "descriptor-only test device";
        public UsbRedir.Devices.UsbSpeed Speed => UsbRedir.Devices.UsbSpeed.High;
        public ReadOnlyMemory<byte> DeviceDescriptor => deviceDescriptor;
        public IReadOnlyList<ReadOnlyMemory<byte>> ConfigurationDescriptors => configurations.Select(c => (ReadOnlyMemory<byte>)c).ToList();
        public byte ActiveConfiguration { get; set; }
        public CancellationToken Gone => CancellationToken.None;
        public byte GetAlternateSetting(byte interfaceNumber) => 0;
        public Task<UsbRedir.Devices.UsbStatus> SetConfigurationAsync(byte configurationValue, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<UsbRedir.Devices.UsbStatus> SetAlternateSettingAsync(byte interfaceNumber, byte alternateSetting, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<UsbRedir.Devices.UsbTransferResult> ControlTransferAsync(UsbRedir.Devices.UsbSetupPacket setup, Memory<byte> data, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<UsbRedir.Devices.UsbTransferResult> TransferAsync(byte endpoint, Memory<byte> buffer, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<UsbRedir.Devices.UsbStatus> ClearHaltAsync(byte endpoint, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<UsbRedir.Devices.UsbStatus> ResetAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public void CorruptOrMissingConfigurationsAreToleratedButNotBadDeviceDescriptors()
    {
        var truncated = Configuration(Interface(0, 0, 8, 6, 0x50), [9, 4, 1]); // last descriptor runs past the end
        Assert.Single(UsbRedirFilterDevice.FromDescriptors(DeviceDescriptor, truncated).Interfaces);
        Assert.Empty(UsbRedirFilterDevice.FromDescriptors(DeviceDescriptor, []).Interfaces);
        var e = Assert.Throws<UsbRedirException>(() => UsbRedirFilterDevice.FromDescriptors(DeviceDescriptor.AsSpan(0, 8), []));
        Assert.Equal(UsbRedirFilterErrorIds.FilterDeviceInvalid, e.ErrorId);
        Assert.Equal(UsbRedirErrorCategory.InvalidData, e.Category);
    }
}
