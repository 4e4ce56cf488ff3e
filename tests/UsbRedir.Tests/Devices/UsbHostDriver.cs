using System.Buffers.Binary;
using UsbRedir.Devices;
using UsbRedir.Tests.Support;

namespace UsbRedir.Tests.Devices;

/// <summary>Plays the host side of chapter 9 against an <see cref="IUsbDevice"/>, the way Linux's hub driver enumerates.</summary>
internal sealed class UsbHostDriver(IUsbDevice device)
{
    public static readonly TimeSpan Timeout = TestDeadline.Default;

    public IUsbDevice Device { get; } = device;

    public async Task<UsbTransferResult> ControlAsync(byte requestType, byte request, ushort value, ushort index, byte[] data)
    {
        var setup = new UsbSetupPacket(requestType, request, value, index, (ushort)data.Length);
        return await Device.ControlTransferAsync(setup, data, CancellationToken.None).WaitAsync(Timeout);
    }

    /// <summary>An IN control request; returns the bytes received, or throws with the status.</summary>
    public async Task<byte[]> ControlInAsync(byte requestType, byte request, ushort value, ushort index, ushort length)
    {
        var buffer = new byte[length];
        var result = await ControlAsync(requestType, request, value, index, buffer);
        Assert.True(result.Status == UsbStatus.Success, $"control IN 0x{requestType:x2}/0x{request:x2} value 0x{value:x4}: {result.Status}");
        return buffer[..result.ActualLength];
    }

    public async Task<UsbStatus> ControlStatusAsync(byte requestType, byte request, ushort value, ushort index, int length = 0) =>
        (await ControlAsync(requestType, request, value, index, new byte[length])).Status;

    public Task<byte[]> GetDescriptorAsync(byte type, byte index, ushort length, ushort languageId = 0) =>
        ControlInAsync(0x80, 0x06, (ushort)(type << 8 | index), languageId, length);

    public async Task<UsbStatus> GetDescriptorStatusAsync(byte type, byte index, ushort length) =>
        await ControlStatusAsync(0x80, 0x06, (ushort)(type << 8 | index), 0, length);

    public async Task<string> GetStringAsync(byte index)
    {
        var descriptor = await GetDescriptorAsync(3, index, 255, 0x0409);
        Assert.Equal(descriptor.Length, descriptor[0]);
        Assert.Equal(3, descriptor[1]);
        return System.Text.Encoding.Unicode.GetString(descriptor, 2, descriptor.Length - 2);
    }

    /// <summary>Enumerates like Linux: 64-byte device descriptor read, SET_ADDRESS, full reads, strings, SET_CONFIGURATION.</summary>
    public async Task<Enumeration> EnumerateAsync()
    {
        var first = await GetDescriptorAsync(1, 0, 64);
        Assert.Equal(18, first.Length);
        Assert.Equal(UsbStatus.Success, await ControlStatusAsync(0x00, 0x05, 7, 0));
        var device = await GetDescriptorAsync(1, 0, 18);
        Assert.Equal(first, device);
        var header = await GetDescriptorAsync(2, 0, 9);
        var total = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(2));
        var configuration = await GetDescriptorAsync(2, 0, total);
        Assert.Equal(total, configuration.Length);
        var languages = await GetDescriptorAsync(3, 0, 255);
        Assert.Equal(new byte[] { 4, 3, 0x09, 0x04 }, languages);
        var manufacturer = device[14] == 0 ? null : await GetStringAsync(device[14]);
        var product = device[15] == 0 ? null : await GetStringAsync(device[15]);
        var serial = device[16] == 0 ? null : await GetStringAsync(device[16]);
        Assert.Equal(UsbStatus.Success, await Device.SetConfigurationAsync(configuration[5], CancellationToken.None));
        return new Enumeration(device, configuration, manufacturer, product, serial);
    }

    public async Task<UsbTransferResult> InAsync(byte endpoint, byte[] buffer, CancellationToken cancellationToken = default) =>
        await Device.TransferAsync(endpoint, buffer, cancellationToken).WaitAsync(Timeout);

    public async Task<UsbTransferResult> OutAsync(byte endpoint, byte[] data) =>
        await Device.TransferAsync(endpoint, data, CancellationToken.None).WaitAsync(Timeout);

    internal sealed record Enumeration(byte[] Device, byte[] Configuration, string? Manufacturer, string? Product, string? SerialNumber);
}
