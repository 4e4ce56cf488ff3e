using System.Buffers.Binary;
using System.Net.Sockets;
using UsbRedir.Controllers.Usbip;

namespace UsbRedir.Tests.Controllers.Usbip;

/// <summary>
/// Plays vhci_hcd on our end of a real AF_UNIX socketpair: sends CMD PDUs built by <see cref="UsbipWire"/> and reads
/// the replies the way vhci_rx does (48-byte header, then the payload its own record of the URB says to expect).
/// </summary>
internal sealed class FakeVhciClient : IDisposable
{
    private readonly Dictionary<uint, (bool DirIn, bool Iso)> _submitted = [];
    private uint _seqnum = 100;

    private FakeVhciClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    /// <summary>A link serving <paramref name="device"/> on one end and this client on the other.</summary>
    public static (FakeVhciClient Client, Socket ServerEnd) Create()
    {
        var (server, clientFd) = UsbipNative.CreateSocketPair();
        var client = new Socket(new SafeSocketHandle(clientFd, ownsHandle: true));
        client.ReceiveTimeout = 10_000;
        return (new FakeVhciClient(client), server);
    }

    public uint NextSeqnum() => ++_seqnum;

    public uint Submit(bool dirIn, uint ep, int length, byte[]? setup = null, byte[]? outData = null, uint flags = 0)
    {
        var seq = NextSeqnum();
        lock (_submitted) _submitted[seq] = (dirIn, false);
        Send(UsbipWire.CmdSubmit(seq, dirIn, ep, length, setup, outData, flags));
        return seq;
    }

    public uint Unlink(uint target)
    {
        var seq = NextSeqnum();
        Send(UsbipWire.CmdUnlink(seq, target));
        return seq;
    }

    public void Send(byte[] pdu) => Socket.Send(pdu);

    /// <summary>The next reply, or null at end of stream.</summary>
    public UsbipWire.Ret? Read()
    {
        var header = new byte[48];
        if (!ReadExactly(header)) return null;
        var command = BinaryPrimitives.ReadUInt32BigEndian(header);
        var seq = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var payload = 0;
        if (command == 3)
        {
            (bool DirIn, bool Iso) urb;
            lock (_submitted) urb = _submitted[seq];
            payload = urb.DirIn ? BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(24)) : 0;
        }
        var pdu = new byte[48 + payload];
        header.CopyTo(pdu, 0);
        if (!ReadExactly(pdu.AsSpan(48))) return null;
        return UsbipWire.ParseRet(pdu, payload > 0, false);
    }

    /// <summary>True when the server closed its end (read returns 0).</summary>
    public bool AtEndOfStream() => Socket.Receive(new byte[1]) == 0;

    private bool ReadExactly(Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = Socket.Receive(buffer);
            if (n == 0) return false;
            buffer = buffer[n..];
        }
        return true;
    }

    public void Dispose() => Socket.Dispose();
}
