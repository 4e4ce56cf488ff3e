using UsbRedir.Devices;
using static UsbRedir.Devices.Software.UsbStandardRequests;

namespace UsbRedir.Controllers.Urbs;

/// <summary>
/// Turns the URBs a kernel host controller submits to one port into <see cref="IUsbDevice"/> calls; shared by every
/// controller backend, one router per plugged device.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>SET_ADDRESS is answered here: the device never sees it (no <see cref="IUsbDevice"/> method takes an address;
///   the kernel's address is only the bus's business). <see cref="Address"/> shows it.</item>
/// <item>SET_CONFIGURATION, SET_INTERFACE and CLEAR_FEATURE(ENDPOINT_HALT) go to the dedicated device methods, as the
///   <see cref="IUsbDevice"/> contract requires; every other control request is a control transfer.</item>
/// <item>Bulk and interrupt URBs are <see cref="IUsbDevice.TransferAsync"/> calls; isochronous URBs are
///   <see cref="IUsbDevice.IsoTransferAsync"/> calls, packet for packet, with the statuses a Linux HCD gives iso packets
///   (see <see cref="IsoPacketStatus"/>) and the URB's actual length the sum of its packets', as Linux counts it.</item>
/// <item><see cref="SubmitAsync"/> starts the device call before it returns, so URBs reach the device in the order the
///   backend submits them (per-endpoint FIFO order is what bulk protocols depend on).</item>
/// <item>The unlink token cancels the device call; a port reset is <see cref="ResetAsync"/>.</item>
/// <item>A result never claims more data than the URB asked for, and nothing the device throws escapes: a throwing
///   device fails the URB with <see cref="UrbStatus.ProtocolError"/>.</item>
/// </list>
/// </remarks>
public sealed class UrbRouter(IUsbDevice device)
{
    private volatile byte _address;

    public IUsbDevice Device { get; } = device ?? throw new ArgumentNullException(nameof(device));

    /// <summary>The address assigned by the last SET_ADDRESS since plug-in or the last port reset.</summary>
    public byte Address => _address;

    /// <summary>
    /// Passes <paramref name="urb"/> to the device and completes with its result. Cancelling <paramref name="unlink"/>
    /// (the kernel unlinked the URB) cancels the device call; the result is then usually <see cref="UrbStatus.Cancelled"/>.
    /// Never throws.
    /// </summary>
    public Task<UrbResult> SubmitAsync(Urb urb, CancellationToken unlink)
    {
        ArgumentNullException.ThrowIfNull(urb);
        try
        {
            return urb.Type switch
            {
                UrbTransferType.Control => Control(urb, unlink),
                UrbTransferType.Bulk or UrbTransferType.Interrupt =>
                    Finish(urb, Device.TransferAsync(urb.Endpoint, urb.Buffer, unlink)),
                _ => Isochronous(urb, unlink),
            };
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A device that throws synchronously fails this URB only.
            return Task.FromResult(FailedBy(exception));
        }
    }

    /// <summary>The hub reset the port: the device goes back to its default state at address 0.</summary>
    public async Task<UsbStatus> ResetAsync(CancellationToken cancellationToken)
    {
        _address = 0;
        try
        {
            return await Device.ResetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return exception is OperationCanceledException ? UsbStatus.Cancelled : UsbStatus.IoError;
        }
    }

    private Task<UrbResult> Control(Urb urb, CancellationToken unlink)
    {
        var setup = urb.Setup;
        var standardOut = TypeOf(setup) == TypeStandard && !setup.IsDeviceToHost && setup.Length == 0;
        var recipient = RecipientOf(setup);
        if (standardOut && recipient == RecipientDevice && setup.Request == SetAddress)
        {
            if (setup.Value > 127 || setup.Index != 0)
                return Task.FromResult(UrbResult.Failed(UrbStatus.Stall));
            _address = (byte)setup.Value;
            return Task.FromResult(new UrbResult(UrbStatus.Success, 0));
        }
        var state = UsbStateRequest.Of(setup);
        switch (state.Kind)
        {
            case UsbStateRequestKind.SetConfiguration:
                return Finish(Device.SetConfigurationAsync(state.Value, unlink));
            case UsbStateRequestKind.SetInterface:
                return Finish(Device.SetAlternateSettingAsync(state.Target, state.Value, unlink));
            case UsbStateRequestKind.ClearEndpointHalt:
                return Finish(Device.ClearHaltAsync(state.Target, unlink));
        }

        // The data stage is wLength bytes; a URB buffer shorter than that for OUT is a malformed URB.
        if (!setup.IsDeviceToHost && urb.Buffer.Length < setup.Length)
            return Task.FromResult(UrbResult.Failed(UrbStatus.Invalid));
        var stage = urb.Buffer[..Math.Min(urb.Buffer.Length, setup.Length)];
        return Finish(urb, Device.ControlTransferAsync(setup, stage, unlink), stage.Length);
    }

    private Task<UrbResult> Finish(Urb urb, Task<UsbTransferResult> transfer, int? limit = null) =>
        Finish(urb, transfer, limit ?? urb.Buffer.Length, Device);

    private static async Task<UrbResult> Finish(Urb urb, Task<UsbTransferResult> transfer, int limit, IUsbDevice device)
    {
        UsbTransferResult result;
        try
        {
            result = await transfer.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return FailedBy(exception);
        }
        var status = UrbStatusCodes.FromUsbStatus(result.Status, device.Gone.IsCancellationRequested);
        // Never more than asked for, whatever the device claims.
        var actual = Math.Clamp(result.ActualLength, 0, limit);
        if (status == UrbStatus.Success && urb.IsIn && actual < limit && urb.Flags.HasFlag(UrbFlags.ShortNotOk))
            status = UrbStatus.ShortPacket;
        return new UrbResult(status, actual);
    }

    private async Task<UrbResult> Finish(Task<UsbStatus> request)
    {
        try
        {
            var status = await request.ConfigureAwait(false);
            return new UrbResult(UrbStatusCodes.FromUsbStatus(status, Device.Gone.IsCancellationRequested), 0);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return FailedBy(exception);
        }
    }

    private async Task<UrbResult> Isochronous(Urb urb, CancellationToken unlink)
    {
        var packets = urb.IsoPackets;
        var count = packets.Count;
        UsbIsoTransferResult result;
        try
        {
            result = await Device.IsoTransferAsync(urb.Endpoint, urb.Buffer, packets, unlink).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return UrbResult.FailedIso(FailedBy(exception).Status, count);
        }
        var gone = Device.Gone.IsCancellationRequested;
        var results = new IsoPacketResult[count];
        var total = 0;
        for (var i = 0; i < count; i++)
        {
            // A device that reports fewer packets than it was given did not transfer the rest.
            var r = i < result.Packets.Count ? result.Packets[i] : new UsbIsoPacketResult(UsbStatus.Cancelled, 0);
            var actual = Math.Clamp(r.ActualLength, 0, packets[i].Length); // never more than the packet asked for
            var status = IsoPacketStatus(r.Status);
            if (status == UrbStatus.Success && urb.IsIn && actual < packets[i].Length && urb.Flags.HasFlag(UrbFlags.ShortNotOk))
                status = UrbStatus.ShortPacket;
            if (status == UrbStatus.NotTransferred)
                actual = 0;
            results[i] = new IsoPacketResult(status, actual);
            total += actual;
        }
        return new UrbResult(UrbStatusCodes.FromUsbStatus(result.Status, gone), total, results);
    }

    /// <summary>
    /// A packet's status as Linux HCDs report iso packets (Documentation/driver-api/usb/error-codes.rst): babble is
    /// -EOVERFLOW, a stall -EPIPE, a transfer error -EPROTO, and a packet that never went over the bus (cancelled,
    /// refused, device gone) -EXDEV, the iso-only "not transferred" code.
    /// </summary>
    private static UrbStatus IsoPacketStatus(UsbStatus status) => status switch
    {
        UsbStatus.Success => UrbStatus.Success,
        UsbStatus.Babble => UrbStatus.Babble,
        UsbStatus.Stall => UrbStatus.Stall,
        UsbStatus.IoError or UsbStatus.Timeout => UrbStatus.ProtocolError,
        _ => UrbStatus.NotTransferred,
    };

    private static UrbResult FailedBy(Exception exception) =>
        UrbResult.Failed(exception is OperationCanceledException ? UrbStatus.Cancelled : UrbStatus.ProtocolError);
}
