using System.Buffers;
using System.Collections.Concurrent;
using UsbRedir.Controllers.Urbs;
using UsbRedir.Devices;
using static UsbRedir.Controllers.VhciCtrl.VhciCtrlAbi;

namespace UsbRedir.Controllers.VhciCtrl;

/// <summary>
/// A controller of the project's own kernel module: one open /dev/vhci-ctrl, one reader thread that turns SUBMIT events
/// into <see cref="UrbRouter"/> calls and their results into COMPLETE writes, UNLINK events into cancellation, and port
/// resets into <see cref="UrbRouter.ResetAsync"/>. Completions are written from whichever thread the device finished on
/// (the kernel takes each write() as one whole command).
/// </summary>
internal sealed class VhciCtrlController : VirtualHostController
{
    // How long to wait for usbcore to finish with an unplugged device (its sysfs node gone, every URB given back).
    private static readonly TimeSpan DetachTimeout = TimeSpan.FromSeconds(5);

    // A reset is waited for on the reader thread so URBs after it reach a device that is back in its default state.
    private static readonly TimeSpan ResetTimeout = TimeSpan.FromSeconds(2);

    private readonly VhciCtrlDevice _device;
    private readonly FileDescriptor _wake;
    private readonly VhciCtrlEventParser _parser;
    private readonly ConcurrentDictionary<ulong, InFlightUrb> _inFlight = new();
    private readonly Thread _reader;
    private volatile bool _closing;

    private VhciCtrlController(VhciCtrlDevice device, FileDescriptor wake, int ports)
        : base(ControllerBackend.VhciCtrl, device.BusId, device.BusNumber, ports)
    {
        _device = device;
        _wake = wake;
        _parser = new VhciCtrlEventParser(device.MaxTransfer, device.MaxIsoPackets);
        _reader = new Thread(ReadEvents) { IsBackground = true, Name = $"vhci-ctrl reader {device.BusId}" };
    }

    /// <summary>Opens <paramref name="path"/>, creates a <paramref name="ports"/>-port controller and starts serving it.</summary>
    public static VhciCtrlController Open(string path, int ports)
    {
        var device = VhciCtrlDevice.Create(path, ports);
        var wake = LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        if (wake < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            device.Dispose();
            throw VhciCtrlDevice.Failed("VhciEventFdFailed", "Creating the reader's wake-up eventfd failed", errno);
        }
        var controller = new VhciCtrlController(device, new FileDescriptor(wake), ports);
        controller._reader.Start();
        return controller;
    }

    protected override Task AttachAsync(int port, UrbRouter router, CancellationToken cancellationToken)
    {
        var speed = router.Device.Speed switch
        {
            UsbSpeed.Low => SpeedLow,
            UsbSpeed.Full => SpeedFull,
            UsbSpeed.High => SpeedHigh,
            _ => throw ControllerErrors.DeviceSpeedUnsupported(Name, router.Device, "USB 2.0 (low, full and high speed)"),
        };
        var errno = _device.Write(VhciCtrlCommands.Connect(port, speed));
        if (errno != 0)
            throw VhciCtrlDevice.Failed("VhciConnectFailed", $"Connecting a device to port {port} of {Name} failed", errno);
        return Task.CompletedTask;
    }

    protected override async Task DetachAsync(int port)
    {
        int errno;
        try
        {
            errno = _device.Write(VhciCtrlCommands.Disconnect(port));
        }
        catch (ObjectDisposedException)
        {
            return; // closed: the kernel unplugged everything with the file
        }
        if (errno is not (0 or LibC.ENOTCONN))
            throw VhciCtrlDevice.Failed("VhciDisconnectFailed", $"Disconnecting port {port} of {Name} failed", errno);

        // usbcore unplugs the device on its hub thread. Until its sysfs node is gone it may still have URBs queued for
        // this port; returning earlier would let a device plugged in next receive the old device's URBs.
        var node = $"/sys/bus/usb/devices/{BusNumber}-{port}";
        var deadline = DateTime.UtcNow + DetachTimeout;
        while (Directory.Exists(node) && DateTime.UtcNow < deadline)
            await Task.Delay(20).ConfigureAwait(false);
    }

    protected override async ValueTask CloseBackendAsync()
    {
        _closing = true;
        WakeReader();
        await Task.Run(_reader.Join).ConfigureAwait(false);
        // Closing the file gives every URB back in the kernel and removes the controller; then release the device side.
        _device.Dispose();
        foreach (var urb in _inFlight.Values)
            urb.Unlink.Cancel();
        _inFlight.Clear();
        _wake.Dispose();
    }

    private void WakeReader()
    {
        Span<byte> one = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(one, 1);
        unsafe
        {
            fixed (byte* p = one)
                LibC.Write(_wake, p, 8);
        }
    }

    private void ReadEvents()
    {
        try
        {
            var buffer = GC.AllocateUninitializedArray<byte>(ReadBufferSize(_device.MaxTransfer, _device.MaxIsoPackets), pinned: true);
            while (!_closing)
            {
                var count = _device.Read(buffer);
                if (count == 0)
                {
                    if (!_device.WaitReadable(_wake))
                        break;
                    continue;
                }
                for (var offset = 0; offset < count;)
                {
                    var record = buffer.AsSpan(offset, count - offset);
                    var ev = _parser.Parse(record);
                    Handle(ev, record[..ev.Length]);
                    offset += ev.Length;
                }
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Guarded: this thread must never take the process down. A failure while closing is the close itself.
            if (!_closing)
                Fail(exception);
        }
    }

    private void Handle(VhciCtrlEvent ev, ReadOnlySpan<byte> record)
    {
        switch (ev)
        {
            case VhciCtrlSubmitEvent submit:
                Submit(submit, record);
                break;
            case VhciCtrlUnlinkEvent unlink:
                // The kernel already gave the URB back; stop the device's work on it and never answer it.
                if (_inFlight.TryRemove(unlink.Id, out var urb))
                    urb.Unlink.Cancel();
                break;
            case VhciCtrlPortEvent { Event: PortReset } reset when RouterOf(reset.Port) is { } router:
                router.ResetAsync(CancellationToken.None).Wait(ResetTimeout);
                break;
        }
    }

    private void Submit(VhciCtrlSubmitEvent submit, ReadOnlySpan<byte> record)
    {
        var router = RouterOf(submit.Port);
        var payload = VhciCtrlCommands.CompletePayloadOffset(submit.IsoPackets.Count);
        var buffer = ArrayPool<byte>.Shared.Rent(payload + submit.TransferLength);
        var inFlight = new InFlightUrb(submit, buffer);
        if (router is null)
        {
            // Unplugged meanwhile: the device is gone for the kernel too.
            Finish(inFlight, UrbResult.Failed(UrbStatus.NoDevice), registered: false);
            return;
        }
        var data = buffer.AsMemory(payload, submit.TransferLength);
        record.Slice(submit.DataOffset, submit.DataLength).CopyTo(data.Span);
        var urb = new Urb
        {
            Id = submit.Id,
            Endpoint = submit.Endpoint,
            Type = submit.Type,
            Setup = submit.Setup,
            Buffer = data,
            Flags = submit.Flags,
            Interval = submit.Interval,
            IsoPackets = submit.IsoPackets,
        };
        _inFlight[submit.Id] = inFlight;
        var result = router.SubmitAsync(urb, inFlight.Unlink.Token);
        if (result.IsCompleted)
            Finish(inFlight, result.Result, registered: true);
        else
            result.ContinueWith(static (t, state) => ((Completion)state!).Run(t.Result), new Completion(this, inFlight),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Writes the COMPLETE of a URB the device finished, unless the kernel unlinked it meanwhile.</summary>
    private void Finish(InFlightUrb urb, UrbResult result, bool registered)
    {
        try
        {
            if (registered && !_inFlight.TryRemove(urb.Submit.Id, out _))
                return; // unlinked: the kernel ignores any answer, so send none
            var length = EncodeCompletion(urb, result);
            if (WriteCompletion(urb.Buffer.AsSpan(0, length)) == LibC.EINVAL)
            {
                // The kernel refused the answer as not fitting its URB (a device bug): fail the URB rather than leave it hanging.
                length = EncodeCompletion(urb, UrbResult.FailedIso(UrbStatus.ProtocolError, urb.Submit.IsoPackets.Count));
                WriteCompletion(urb.Buffer.AsSpan(0, length));
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Runs on device threads too: never let it escape. A broken file is the reader's to report.
            if (!_closing && exception is not ObjectDisposedException)
                Fail(exception);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(urb.Buffer);
        }
    }

    private int WriteCompletion(ReadOnlySpan<byte> command)
    {
        var errno = _device.Write(command);
        if (errno is 0 or LibC.EINVAL || _closing)
            return errno;
        throw VhciCtrlDevice.Failed("VhciCompleteFailed", $"Completing a URB on {Name} failed", errno);
    }

    private static int EncodeCompletion(InFlightUrb urb, UrbResult result)
    {
        var submit = urb.Submit;
        var isIn = (submit.Endpoint & 0x80) != 0;
        var packets = submit.IsoPackets;
        var span = urb.Buffer.AsSpan();
        var dataLength = 0;
        var errorCount = 0;
        for (var i = 0; i < packets.Count; i++)
        {
            var packet = result.IsoPacketAt(i, packets[i]);
            var actual = packet.ActualLength;
            if (packet.Status != UrbStatus.Success)
                errorCount++;
            VhciCtrlCommands.WriteIsoResult(span, i, actual, KernelStatus(packet.Status));
            // ISO IN data is the buffer image up to the end of the last packet's data.
            if (isIn && actual > 0)
                dataLength = Math.Max(dataLength, packets[i].Offset + actual);
        }
        var actualLength = Math.Clamp(result.ActualLength, 0, submit.TransferLength);
        if (packets.Count == 0 && isIn)
            dataLength = actualLength;
        return VhciCtrlCommands.WriteComplete(span, submit.Id, KernelStatus(result.Status), actualLength, packets.Count, errorCount,
            submit.StartFrame, dataLength);
    }

    /// <summary>
    /// The status to hand the kernel. -ECONNRESET is reserved for URBs the kernel itself unlinked (those are never answered);
    /// a transfer the device cancelled on its own (e.g. by a reset) is a transfer error.
    /// </summary>
    private static int KernelStatus(UrbStatus status) =>
        UrbStatusCodes.ToLinuxErrno(status == UrbStatus.Cancelled ? UrbStatus.ProtocolError : status);

    /// <summary>A URB between SUBMIT and its COMPLETE (or UNLINK); <see cref="Buffer"/> holds the COMPLETE to be, then the data.</summary>
    private sealed class InFlightUrb(VhciCtrlSubmitEvent submit, byte[] buffer)
    {
        public VhciCtrlSubmitEvent Submit { get; } = submit;

        public byte[] Buffer { get; } = buffer;

        /// <summary>Cancelled when the kernel unlinked the URB or the controller closed. Never disposed: cancel can race with finish.</summary>
        public CancellationTokenSource Unlink { get; } = new();
    }

    private sealed class Completion(VhciCtrlController controller, InFlightUrb urb)
    {
        public void Run(UrbResult result) => controller.Finish(urb, result, registered: true);
    }
}
