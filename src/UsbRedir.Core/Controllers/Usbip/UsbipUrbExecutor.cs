using System.Buffers;
using System.Runtime.InteropServices;
using UsbRedir.Devices;
using UsbRedir.Sessions;

namespace UsbRedir.Controllers.Usbip;

/// <summary>
/// Runs one CMD_SUBMIT against an <see cref="IUsbDevice"/> and builds its RET_SUBMIT. vhci_hcd forwards every URB
/// except SET_ADDRESS (it completes that itself) and never forwards port resets, so the standard requests the
/// <see cref="IUsbDevice"/> contract wants as method calls (SET_CONFIGURATION, SET_INTERFACE,
/// CLEAR_FEATURE(ENDPOINT_HALT)) arrive here as control URBs and are routed to those methods.
/// </summary>
internal sealed class UsbipUrbExecutor(IUsbDevice device)
{
    private const byte SetConfiguration = 0x09;
    private const byte SetInterface = 0x0B;
    private const byte ClearFeature = 0x01;
    private const ushort EndpointHalt = 0;

    private volatile DeviceLayout _layout = DeviceLayout.ForActiveConfiguration(device);

    /// <summary>Whether an endpoint is isochronous in the current configuration; the decoder needs it to frame CMD_SUBMIT.</summary>
    public bool IsIsochronous(byte endpointAddress) =>
        _layout.EndpointType[DeviceLayout.EndpointIndex(endpointAddress)] == UsbEndpointType.Isochronous;

    public async Task<byte[]> ExecuteAsync(UsbipSubmitCommand urb, CancellationToken cancellationToken)
    {
        if (urb.IsIsochronous)
            return IsochronousUnsupported(urb);
        if (urb.EndpointNumber == 0)
            return await ControlAsync(urb, cancellationToken).ConfigureAwait(false);

        if (!urb.DirectionIn)
        {
            var result = await device.TransferAsync(urb.EndpointAddress, Writable(urb.OutData), cancellationToken).ConfigureAwait(false);
            return Reply(urb, result.Status, Math.Min(result.ActualLength, urb.TransferBufferLength), default);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(urb.TransferBufferLength);
        try
        {
            var result = await device.TransferAsync(urb.EndpointAddress, buffer.AsMemory(0, urb.TransferBufferLength), cancellationToken).ConfigureAwait(false);
            return Reply(urb, result.Status, Math.Clamp(result.ActualLength, 0, urb.TransferBufferLength), buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The RET_SUBMIT for a URB whose execution threw: an I/O error, with every length consistent.</summary>
    public static byte[] Failure(UsbipSubmitCommand urb) =>
        urb.IsIsochronous ? IsochronousUnsupported(urb) : UsbipReplyEncoder.EncodeRetSubmit(urb, -LinuxErrno.EPROTO, 0, default);

    private async Task<byte[]> ControlAsync(UsbipSubmitCommand urb, CancellationToken cancellationToken)
    {
        var setup = urb.Setup;
        switch (setup.RequestType, setup.Request)
        {
            case (0x00, SetConfiguration):
                return AfterStateChange(urb, await device.SetConfigurationAsync((byte)setup.Value, cancellationToken).ConfigureAwait(false));
            case (0x01, SetInterface):
                return AfterStateChange(urb, await device.SetAlternateSettingAsync((byte)setup.Index, (byte)setup.Value, cancellationToken).ConfigureAwait(false));
            case (0x02, ClearFeature) when setup.Value == EndpointHalt:
                return Reply(urb, await device.ClearHaltAsync((byte)setup.Index, cancellationToken).ConfigureAwait(false), 0, default);
        }

        // usbcore makes transfer_buffer_length equal wLength for control URBs; take the smaller so neither limit is crossed.
        var length = Math.Min(setup.Length, urb.TransferBufferLength);
        if (!setup.IsDeviceToHost)
        {
            var result = await device.ControlTransferAsync(setup, Writable(urb.OutData[..length]), cancellationToken).ConfigureAwait(false);
            return Reply(urb, result.Status, Math.Clamp(result.ActualLength, 0, length), default);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max((int)setup.Length, 1));
        try
        {
            var result = await device.ControlTransferAsync(setup, buffer.AsMemory(0, setup.Length), cancellationToken).ConfigureAwait(false);
            return Reply(urb, result.Status, Math.Clamp(result.ActualLength, 0, length), buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] AfterStateChange(UsbipSubmitCommand urb, UsbStatus status)
    {
        // Endpoint types change with the configuration and alternate settings; later CMD_SUBMITs are framed by them.
        if (status == UsbStatus.Success)
            _layout = DeviceLayout.ForActiveConfiguration(device);
        return Reply(urb, status, 0, default);
    }

    private static byte[] Reply(UsbipSubmitCommand urb, UsbStatus status, int actualLength, ReadOnlySpan<byte> inData)
    {
        var errno = LinuxErrno.UrbStatus(status);
        // URB_SHORT_NOT_OK: usbcore drivers that set it expect a short IN read to fail with -EREMOTEIO.
        if (errno == 0 && urb.DirectionIn && actualLength < urb.TransferBufferLength
            && urb.TransferFlags.HasFlag(UsbipTransferFlags.ShortNotOk))
            errno = -LinuxErrno.EREMOTEIO;
        return UsbipReplyEncoder.EncodeRetSubmit(urb, errno, actualLength, inData);
    }

    // IUsbDevice has no isochronous transfers yet: every packet fails with -EXDEV ("not transferred"), lengths 0, so the
    // reply still satisfies vhci_hcd's packet-count and length-sum checks.
    private static byte[] IsochronousUnsupported(UsbipSubmitCommand urb)
    {
        var results = new UsbipIsoPacket[urb.IsoPackets.Count];
        for (var i = 0; i < results.Length; i++)
            results[i] = new UsbipIsoPacket(0, 0, 0, -LinuxErrno.EXDEV);
        return UsbipReplyEncoder.EncodeIsoRetSubmit(urb, 0, results, default, urb.StartFrame);
    }

    // The decoder gives each OUT payload its own array, so handing the device a writable view cannot corrupt anything.
    private static Memory<byte> Writable(ReadOnlyMemory<byte> data) => MemoryMarshal.AsMemory(data);
}
