using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace UsbRedir.Devices.Local;

/// <summary>
/// One asynchronous libusb transfer in flight. It completes exactly once: in libusb's callback on the event thread, or
/// at once when libusb refuses the submission. Its token's cancellation asks libusb to cancel, and libusb's callback
/// (status CANCELLED, or the real result if it won the race) still completes it. The libusb transfer and its buffers are
/// freed in that same callback, never while libusb may still touch them.
/// </summary>
internal abstract unsafe class LibUsbTransfer
{
    private readonly object _gate = new();
    private LibUsb.Transfer* _transfer;
    private GCHandle _self;
    private CancellationTokenRegistration _cancellation;
    private bool _completed;
    private bool _tracked;
    private readonly ILibUsbTransferOwner _owner;

    protected LibUsbTransfer(ILibUsbTransferOwner owner) => _owner = owner;

    protected LibUsb.Transfer* Native => _transfer;

    /// <summary>Allocates the libusb transfer for <paramref name="isoPackets"/> packets and fills the common fields.</summary>
    protected void Allocate(LibUsbDeviceHandle device, byte endpoint, byte type, int isoPackets, byte* buffer, int length)
    {
        _transfer = LibUsb.AllocTransfer(isoPackets);
        if (_transfer == null)
            throw new OutOfMemoryException("libusb_alloc_transfer failed");
        _self = GCHandle.Alloc(this);
        _transfer->DevHandle = device.DangerousGetHandle();
        _transfer->Endpoint = endpoint;
        _transfer->Type = type;
        _transfer->Timeout = 0; // callers bound their transfers with cancellation
        _transfer->Buffer = buffer;
        _transfer->Length = length;
        _transfer->NumIsoPackets = isoPackets;
        _transfer->UserData = GCHandle.ToIntPtr(_self);
        _transfer->Callback = (nint)(delegate* unmanaged<LibUsb.Transfer*, void>)&OnCallback;
    }

    /// <summary>Submits the transfer; when the device or libusb refuses it, it completes at once with the failure.</summary>
    protected void Submit(CancellationToken cancellationToken)
    {
        _tracked = _owner.TryAdd(this);
        if (!_tracked)
        {
            Finish(LibUsb.TransferError, fromCallback: false); // closing or gone: IoError, as the contract says
            return;
        }
        var result = LibUsb.SubmitTransfer(_transfer);
        if (result != LibUsb.Success)
        {
            _owner.SubmitFailed(result);
            Finish(result == LibUsb.ErrorNoDevice ? LibUsb.TransferNoDevice : result == LibUsb.ErrorPipe ? LibUsb.TransferStall : LibUsb.TransferError,
                fromCallback: false);
            return;
        }
        if (!cancellationToken.CanBeCanceled)
            return;
        // Under the gate: a registration made after the completion would never be disposed. An already cancelled token
        // runs Cancel at once, re-entering the gate on this thread.
        lock (_gate)
            if (!_completed)
                _cancellation = cancellationToken.UnsafeRegister(static s => ((LibUsbTransfer)s!).Cancel(), this);
    }

    /// <summary>Asks libusb to cancel; the callback completes the transfer. A no-op once it has completed.</summary>
    public void Cancel()
    {
        lock (_gate)
        {
            if (!_completed)
                LibUsb.CancelTransfer(_transfer); // LIBUSB_ERROR_NOT_FOUND when already done: the callback is on its way
        }
    }

    [UnmanagedCallersOnly]
    private static void OnCallback(LibUsb.Transfer* transfer)
    {
        try
        {
            var self = (LibUsbTransfer)GCHandle.FromIntPtr(transfer->UserData).Target!;
            self.Finish(transfer->Status, fromCallback: true);
        }
        catch (Exception e)
        {
            // Nothing may escape into libusb; a bug here must still be seen.
            Environment.FailFast("UsbRedir: a libusb transfer completion failed", e);
        }
    }

    private void Finish(int status, bool fromCallback)
    {
        CancellationTokenRegistration cancellation;
        lock (_gate)
        {
            _completed = true;
            cancellation = _cancellation;
        }
        cancellation.Dispose(); // waits for a Cancel running on another thread, which saw _completed or cancelled in time
        try
        {
            Complete(status, fromCallback);
        }
        finally
        {
            Release();
            if (status == LibUsb.TransferNoDevice)
                _owner.DeviceGone();
            if (_tracked)
                _owner.Remove(this);
        }
    }

    /// <summary>Sets the task's result from libusb's status (and, after the callback, the transfer's lengths). Called exactly once.</summary>
    protected abstract void Complete(int status, bool fromCallback);

    /// <summary>Frees the libusb transfer and whatever buffers the derived class holds.</summary>
    protected virtual void Release()
    {
        if (_transfer != null)
            LibUsb.FreeTransfer(_transfer);
        _transfer = null;
        if (_self.IsAllocated)
            _self.Free();
    }

    public static UsbStatus StatusOf(int status) => status switch
    {
        LibUsb.TransferCompleted => UsbStatus.Success,
        LibUsb.TransferCancelled => UsbStatus.Cancelled,
        LibUsb.TransferStall => UsbStatus.Stall,
        LibUsb.TransferTimedOut => UsbStatus.Timeout,
        LibUsb.TransferOverflow => UsbStatus.Babble,
        _ => UsbStatus.IoError,
    };
}

/// <summary>Where a transfer reports in: the device tracks what is in flight (to cancel it and to wait for it before closing).</summary>
internal interface ILibUsbTransferOwner
{
    /// <summary>Registers a transfer about to be submitted; false when the device is closing or gone (it then fails at once).</summary>
    bool TryAdd(LibUsbTransfer transfer);

    /// <summary>Called once for each transfer <see cref="TryAdd"/> accepted, after it has completed.</summary>
    void Remove(LibUsbTransfer transfer);

    /// <summary>libusb said the device is gone (LIBUSB_ERROR_NO_DEVICE / LIBUSB_TRANSFER_NO_DEVICE).</summary>
    void DeviceGone();

    /// <summary>libusb refused a submission with this error (for the log).</summary>
    void SubmitFailed(int error);
}

/// <summary>A control, bulk, interrupt or bulk-stream transfer.</summary>
internal sealed unsafe class LibUsbDataTransfer : LibUsbTransfer
{
    // Who learns the result: a task, or (see IInlineCompletingDevice) a callback run on the completing thread.
    private readonly TaskCompletionSource<UsbTransferResult>? _task;
    private readonly Action<UsbTransferResult, object>? _done;
    private readonly object? _doneState;
    private MemoryHandle _pin;
    private byte* _control; // control transfers: setup + data in one native buffer
    private Memory<byte> _controlData;
    private bool _controlIn;

    private LibUsbDataTransfer(ILibUsbTransferOwner owner) : base(owner) => _task = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LibUsbDataTransfer(ILibUsbTransferOwner owner, Action<UsbTransferResult, object> done, object state) : base(owner)
    {
        _done = done;
        _doneState = state;
    }

    /// <summary>A control transfer: libusb wants the 8-byte setup packet in front of the data.</summary>
    public static Task<UsbTransferResult> Control(ILibUsbTransferOwner owner, LibUsbDeviceHandle device, UsbSetupPacket setup, Memory<byte> data,
        CancellationToken cancellationToken)
    {
        var t = new LibUsbDataTransfer(owner);
        var length = Math.Min(setup.Length, data.Length);
        t._control = (byte*)NativeMemory.Alloc((nuint)(8 + length));
        setup.Write(new Span<byte>(t._control, 8));
        t._controlIn = setup.IsDeviceToHost;
        t._controlData = data[..length];
        if (!t._controlIn)
            data.Span[..length].CopyTo(new Span<byte>(t._control + 8, length));
        t.Allocate(device, 0, LibUsb.TransferTypeControl, 0, t._control, 8 + length);
        t.Submit(cancellationToken);
        return t._task!.Task;
    }

    /// <summary>A bulk, interrupt or (streamId &gt; 0) bulk-stream transfer straight into or out of the caller's buffer.</summary>
    public static Task<UsbTransferResult> Data(ILibUsbTransferOwner owner, LibUsbDeviceHandle device, byte endpoint, byte type, uint streamId,
        Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var t = new LibUsbDataTransfer(owner);
        t.SubmitData(device, endpoint, type, streamId, buffer, cancellationToken);
        return t._task!.Task;
    }

    /// <summary>
    /// As the other overload, but <paramref name="done"/> gets the result (with <paramref name="state"/>) on the thread that
    /// learns it: libusb's event thread, or this one before returning when the transfer is refused at once.
    /// </summary>
    public static void Data(ILibUsbTransferOwner owner, LibUsbDeviceHandle device, byte endpoint, byte type, uint streamId,
        Memory<byte> buffer, Action<UsbTransferResult, object> done, object state, CancellationToken cancellationToken) =>
        new LibUsbDataTransfer(owner, done, state).SubmitData(device, endpoint, type, streamId, buffer, cancellationToken);

    private void SubmitData(LibUsbDeviceHandle device, byte endpoint, byte type, uint streamId, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        _pin = buffer.Pin();
        Allocate(device, endpoint, streamId != 0 ? LibUsb.TransferTypeBulkStream : type, 0, (byte*)_pin.Pointer, buffer.Length);
        if (streamId != 0)
            LibUsb.TransferSetStreamId(Native, streamId);
        Submit(cancellationToken);
    }

    protected override void Complete(int status, bool fromCallback)
    {
        var actual = fromCallback ? Native->ActualLength : 0;
        if (_control != null && _controlIn && actual > 0)
        {
            actual = Math.Min(actual, _controlData.Length);
            new ReadOnlySpan<byte>(_control + 8, actual).CopyTo(_controlData.Span);
        }
        var result = new UsbTransferResult(StatusOf(status), actual);
        if (_done is not null)
            _done(result, _doneState!);
        else
            _task!.TrySetResult(result);
    }

    protected override void Release()
    {
        base.Release();
        _pin.Dispose();
        if (_control != null)
            NativeMemory.Free(_control);
        _control = null;
    }
}

/// <summary>An isochronous transfer: the packets sit back to back in a native buffer, as libusb lays them out.</summary>
internal sealed unsafe class LibUsbIsoTransfer : LibUsbTransfer
{
    private readonly TaskCompletionSource<UsbIsoTransferResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte* _buffer;
    private Memory<byte> _caller;
    private IReadOnlyList<UsbIsoPacket> _packets = [];
    private bool _in;

    private LibUsbIsoTransfer(ILibUsbTransferOwner owner) : base(owner)
    {
    }

    public static Task<UsbIsoTransferResult> Start(ILibUsbTransferOwner owner, LibUsbDeviceHandle device, byte endpoint, Memory<byte> buffer,
        IReadOnlyList<UsbIsoPacket> packets, CancellationToken cancellationToken)
    {
        var t = new LibUsbIsoTransfer(owner) { _caller = buffer, _packets = packets, _in = (endpoint & 0x80) != 0 };
        var total = 0;
        foreach (var p in packets)
            total += p.Length;
        t._buffer = (byte*)NativeMemory.Alloc((nuint)Math.Max(total, 1));
        var at = 0;
        if (!t._in)
            foreach (var p in packets)
            {
                buffer.Span.Slice(p.Offset, p.Length).CopyTo(new Span<byte>(t._buffer + at, p.Length));
                at += p.Length;
            }
        t.Allocate(device, endpoint, LibUsb.TransferTypeIsochronous, packets.Count, t._buffer, total);
        var descriptors = LibUsb.IsoPackets(t.Native);
        for (var i = 0; i < packets.Count; i++)
            descriptors[i] = new LibUsb.IsoPacketDescriptor { Length = (uint)packets[i].Length };
        t.Submit(cancellationToken);
        return t._done.Task;
    }

    protected override void Complete(int status, bool fromCallback)
    {
        var transferStatus = StatusOf(status);
        if (!fromCallback)
        {
            _done.TrySetResult(UsbIsoTransferResult.Failed(transferStatus, _packets.Count));
            return;
        }
        var results = new UsbIsoPacketResult[_packets.Count];
        var descriptors = LibUsb.IsoPackets(Native);
        var at = 0;
        for (var i = 0; i < results.Length; i++)
        {
            var p = _packets[i];
            var actual = (int)Math.Min(descriptors[i].ActualLength, (uint)p.Length);
            var packetStatus = transferStatus == UsbStatus.Success ? StatusOf(descriptors[i].Status) : transferStatus;
            if (_in && actual > 0)
                new ReadOnlySpan<byte>(_buffer + at, actual).CopyTo(_caller.Span.Slice(p.Offset, actual));
            results[i] = new UsbIsoPacketResult(packetStatus, _in ? actual : packetStatus == UsbStatus.Success ? p.Length : actual);
            at += p.Length;
        }
        _done.TrySetResult(new UsbIsoTransferResult(transferStatus, results));
    }

    protected override void Release()
    {
        base.Release();
        if (_buffer != null)
            NativeMemory.Free(_buffer);
        _buffer = null;
    }
}
